/**
 * Models (docs/DESIGN.md §5 `models`): backend-neutral specs (spec.ts), the three architectures, the
 * registry and deterministic initialisation. Each backend builds its own network from a spec:
 * the engine in src/backends/engine/network.ts, tfjs in src/backends/tfjs/models.ts.
 */
export * from './spec.ts';
export { lenet5, type LeNet5Options } from './lenet5.ts';
export { vgg11, scaled, VGG11_CFG, type Vgg11Options } from './vgg11.ts';
export { resnet18, type ResNet18Options, type ResNetStem } from './resnet18.ts';
export { modelSpec, specShapes, isModelName, MODEL_NAMES, type ModelName, type ModelOptions } from './registry.ts';
export { initParams, initBuffers, streamSeed, uniformStream } from './init.ts';
