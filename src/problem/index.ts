export * from './types.ts';
export * from './shapes.ts';
