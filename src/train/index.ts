/**
 * Training runs (docs/DESIGN.md §4 ablations, §5 `train`): the stage trainRun(config, hooks) (run.ts)
 * with its loop (loop.ts), state (state.ts), result (result.ts), lock (lock.ts) and checkpoints
 * (checkpoint.ts: the file format; header.ts: what a checkpoint must hold to be resumed from); the
 * backends it drives (backend.ts, backends/), the run's optimizer (optim.ts), the run's options and
 * their defaults (config.ts, options.ts), and a progress display for the commands (progress.ts).
 * Grids of runs are in ./ablate.
 */
export * from './config.ts';
export * from './options.ts';
export * from './optim.ts';
export * from './checkpoint.ts';
export * from './backend.ts';
export { CheckpointHeaderSchema, checkResumable, openCheckpoint } from './header.ts';
export * from './run.ts';
export { trainProgress, progressHooks, fmtDuration, type TrainProgress } from './progress.ts';
