export * from './routing.ts';
export * from './shapes.ts';
export * from './types.ts';
export * from './vocabulary.ts';
