/**
 * Learning-rate search (docs/DESIGN.md §4, the paper's protocol): tuneLr (run.ts) draws the trials'
 * lrs (sample.ts), trains them by successive halving on a validation split carved from the train
 * split (halving.ts, src/train/validation.ts), chooses on validation and trains the chosen lr;
 * record.ts is the folder's files and tune.json; config.ts the settings and their defaults.
 */
export * from './config.ts';
export * from './halving.ts';
export * from './record.ts';
export * from './run.ts';
export * from './sample.ts';
