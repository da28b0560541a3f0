/**
 * Training runs (docs/DESIGN.md §4 ablations, §5 `train`): the loop with evaluation, metrics, checkpoints
 * and resume (run.ts), the backends it drives (backend.ts), the run's optimizer (optim.ts: the
 * engine's sgd / adam), the checkpoint file format (checkpoint.ts), the run's options (config.ts)
 * and the `adzone train` command (command.ts).
 */
export * from './config.ts';
export * from './optim.ts';
export * from './checkpoint.ts';
export * from './backend.ts';
export * from './run.ts';
export { trainProgress, fmtDuration, type TrainProgress } from './progress.ts';
