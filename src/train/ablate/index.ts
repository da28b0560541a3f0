/**
 * Ablations (docs/DESIGN.md §4): grids of training runs. grid.ts reads a grid file and expands its
 * cells; shard.ts slices them (i/n, or from a scheduler's job-array variables); run.ts is the
 * stages planAblation and runAblation; merge.ts is mergeAblations; files.ts the folder's files;
 * table.ts the results table (mean ± std over seeds).
 */
export * from './grid.ts';
export * from './shard.ts';
export * from './files.ts';
export * from './run.ts';
export * from './merge.ts';
export * from './table.ts';
