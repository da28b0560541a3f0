export * from './types.ts';
export * from './shapes.ts';
export * from './routing.ts';
export * from './vocabulary.ts';
