/**
 * The model registry: one name a model, one options object for every model.
 *
 *   modelSpec('lenet5')                                   // the paper's LeNet-5 on 1×28×28
 *   modelSpec('lenet5-padded', { batchNorm: true })       // PyTorch's usual LeNet with BN
 *   modelSpec('vgg11', { width: 1 / 16, batchNorm: true })
 *   modelSpec('resnet18', { stem: 'imagenet' })           // torchvision's resnet18, 1000 classes
 *
 * Defaults: batchNorm false for lenet5 and vgg11 (the paper's main runs), true for resnet18 (the
 * standard architecture); width 1; classes 10 (1000 for the ImageNet stem); input 1×28×28 (LeNet),
 * 3×32×32 (VGG, CIFAR ResNet), 3×224×224 (ImageNet ResNet). Options a model does not take are
 * errors, not silently ignored. Every spec is checked by `specShapes` before it is returned.
 */
import { lenet5 } from './lenet5.ts';
import { resnet18, type ResNetStem } from './resnet18.ts';
import type { ModelSpec, NetLayer } from './spec.ts';
import { vgg11 } from './vgg11.ts';

export const MODEL_NAMES = ['lenet5', 'lenet5-padded', 'vgg11', 'resnet18'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export interface ModelOptions {
  /** Channel multiplier (vgg11, resnet18): channels × width, rounded, at least 1. */
  readonly width?: number;
  readonly batchNorm?: boolean;
  /** resnet18 only. */
  readonly stem?: ResNetStem;
  readonly classes?: number;
  /** [C, H, W] without the batch. */
  readonly input?: readonly [number, number, number];
  /** lenet5 only: 'paper' (default for lenet5) or 'torch-default' (default for lenet5-padded). */
  readonly init?: 'paper' | 'torch-default';
}

const ACCEPTS: Readonly<Record<ModelName, readonly (keyof ModelOptions)[]>> = {
  lenet5: ['batchNorm', 'classes', 'input', 'init'],
  'lenet5-padded': ['batchNorm', 'classes', 'input', 'init'],
  vgg11: ['width', 'batchNorm', 'classes', 'input'],
  resnet18: ['width', 'batchNorm', 'stem', 'classes', 'input'],
};

export function isModelName(name: string): name is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(name);
}

/** The spec of a named model; throws for unknown names (listing the valid ones) and for options the model does not take. */
export function modelSpec(name: string, opts: ModelOptions = {}): ModelSpec {
  if (!isModelName(name)) throw new Error(`unknown model '${name}': expected one of ${MODEL_NAMES.join(', ')}`);
  const extra = (Object.keys(opts) as (keyof ModelOptions)[]).filter((k) => opts[k] !== undefined && !ACCEPTS[name].includes(k));
  if (extra.length)
    throw new Error(
      `model '${name}' does not take option${extra.length > 1 ? 's' : ''} ${extra.join(', ')} (it takes ${ACCEPTS[name].join(', ')})`,
    );
  if (opts.classes !== undefined && !(Number.isInteger(opts.classes) && opts.classes >= 1))
    throw new Error(`classes must be a positive integer, got ${opts.classes}`);
  if (opts.input !== undefined && !(opts.input.length === 3 && opts.input.every((d) => Number.isInteger(d) && d >= 1))) {
    throw new Error(`input must be [C, H, W] of positive integers, got [${opts.input.join(', ')}]`);
  }
  let spec: ModelSpec;
  switch (name) {
    case 'lenet5':
    case 'lenet5-padded':
      spec = lenet5({ ...opts, padded: name === 'lenet5-padded' });
      break;
    case 'vgg11':
      spec = vgg11(opts);
      break;
    case 'resnet18':
      spec = resnet18(opts);
      break;
  }
  specShapes(spec);
  return spec;
}

/**
 * Check a spec's shapes end to end and return the output shape of every top-level node (without
 * the batch): [C, H, W] for feature maps, [F] after flatten/linear. Throws, naming the layer, when a
 * conv/bn/linear's declared size disagrees with what reaches it, when a residual's two branches
 * disagree, when a pool's padding exceeds half its kernel, or when the output is not [classes].
 */
export function specShapes(spec: ModelSpec): number[][] {
  const where = (l: NetLayer, i: number) => `${spec.name}/${spec.variant} node ${i} (${'name' in l ? l.name : l.kind})`;
  const step = (l: NetLayer, s: number[], i: number): number[] => {
    const fail = (msg: string): never => {
      throw new Error(`${where(l, i)}: ${msg}, input ${s.join('×')}`);
    };
    const spatial = (k: readonly [number, number], st: readonly [number, number], p: readonly [number, number]): number[] => {
      if (s.length !== 3) fail('needs a [C, H, W] feature map');
      const o = [0, 1].map((d) => Math.floor((s[d + 1] + 2 * p[d] - k[d]) / st[d]) + 1);
      if (o.some((v) => v < 1)) fail(`kernel ${k.join('×')} does not fit`);
      return [s[0], o[0], o[1]];
    };
    switch (l.kind) {
      case 'conv2d': {
        if (s[0] !== l.inChannels) fail(`declares ${l.inChannels} input channels`);
        const o = spatial(l.kernel, l.stride, l.padding);
        return [l.outChannels, o[1], o[2]];
      }
      case 'batchnorm2d':
        if (s.length !== 3 || s[0] !== l.channels) fail(`declares ${l.channels} channels`);
        return s;
      case 'relu':
        return s;
      case 'maxpool':
        if (2 * l.padding[0] > l.kernel[0] || 2 * l.padding[1] > l.kernel[1]) fail('padding exceeds half the kernel');
        return spatial(l.kernel, l.stride, l.padding);
      case 'avgpool':
        return spatial(l.kernel, l.stride, [0, 0]);
      case 'globalavgpool':
        if (s.length !== 3) fail('needs a [C, H, W] feature map');
        return [s[0], 1, 1];
      case 'flatten':
        return [s.reduce((a, b) => a * b, 1)];
      case 'linear':
        if (s.length !== 1 || s[0] !== l.inFeatures) fail(`declares ${l.inFeatures} input features (flatten first)`);
        return [l.outFeatures];
      case 'residual': {
        const a = l.body.reduce((t, m, j) => step(m, t, j), s);
        const b = l.shortcut.reduce((t, m, j) => step(m, t, j), s);
        if (a.join('×') !== b.join('×')) fail(`body gives ${a.join('×')} but shortcut ${b.join('×')}`);
        return a;
      }
    }
  };
  const shapes: number[][] = [];
  let s: number[] = [...spec.input];
  spec.layers.forEach((l, i) => {
    s = step(l, s, i);
    shapes.push(s);
  });
  if (s.length !== 1 || s[0] !== spec.classes)
    throw new Error(`${spec.name}/${spec.variant}: output ${s.join('×')} is not [${spec.classes}] (classes)`);
  return shapes;
}
