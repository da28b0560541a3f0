export * from './format.ts';
export * from './round.ts';
export * from './exact.ts';
