/**
 * VGG11, CIFAR variant (docs/DESIGN.md §4; the layout of kuangliu/pytorch-cifar's `VGG('VGG11')`):
 * cfg [64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M], each number a 3×3 conv (stride 1,
 * padding 1, with bias, PyTorch default init) [→ BatchNorm2d] → ReLU, each M a MaxPool 2×2
 * stride 2; then flatten and one classifier Linear(512 → classes). On 3×32×32 the five pools leave
 * 1×1, so the classifier sees 512 features (C·H·W in general). kuangliu's trailing
 * AvgPool2d(kernel 1, stride 1) is the identity and is left out (it has no parameters, so names
 * and counts are unchanged).
 *
 * `width` multiplies every channel count (rounded, at least 1): width 1/16 gives 4, 8, 16, 32, 32.
 *
 * Names follow nn.Sequential's indices as torchvision's make_layers / kuangliu's _make_layers
 * produce them: features.0 (conv), features.1 (bn), features.2 (relu), features.3 (pool), ...;
 * the classifier is `classifier`.
 */
import type { ModelSpec, NetLayer } from './spec.ts';

export const VGG11_CFG: readonly (number | 'M')[] = [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'];

export interface Vgg11Options {
  readonly width?: number;
  readonly batchNorm?: boolean;
  readonly classes?: number;
  /** [C, H, W]; default [3, 32, 32]. */
  readonly input?: readonly [number, number, number];
}

/** channels × width, rounded to nearest, at least 1 (shared with resnet18). */
export function scaled(channels: number, width: number): number {
  if (!(width > 0 && Number.isFinite(width))) throw new Error(`width multiplier must be a positive finite number, got ${width}`);
  return Math.max(1, Math.round(channels * width));
}

export function vgg11(opts: Vgg11Options = {}): ModelSpec {
  const width = opts.width ?? 1;
  const bn = opts.batchNorm ?? false;
  const classes = opts.classes ?? 10;
  const input = opts.input ?? ([3, 32, 32] as const);
  const layers: NetLayer[] = [];
  let c = input[0];
  let [h, w] = [input[1], input[2]];
  let index = 0;
  for (const x of VGG11_CFG) {
    if (x === 'M') {
      layers.push({ kind: 'maxpool', kernel: [2, 2], stride: [2, 2], padding: [0, 0] });
      h = Math.floor(h / 2);
      w = Math.floor(w / 2);
      index += 1;
      if (h < 1 || w < 1) throw new Error(`vgg11: input ${input.join('×')} is too small for five 2×2 pools (needs at least 32×32)`);
      continue;
    }
    const out = scaled(x, width);
    layers.push({
      kind: 'conv2d',
      name: `features.${index}`,
      inChannels: c,
      outChannels: out,
      kernel: [3, 3],
      stride: [1, 1],
      padding: [1, 1],
      bias: true,
      init: 'torch-default',
    });
    if (bn) layers.push({ kind: 'batchnorm2d', name: `features.${index + 1}`, channels: out, eps: 1e-5, momentum: 0.1 });
    layers.push({ kind: 'relu' });
    index += bn ? 3 : 2;
    c = out;
  }
  layers.push({ kind: 'flatten' });
  layers.push({ kind: 'linear', name: 'classifier', inFeatures: c * h * w, outFeatures: classes, bias: true, init: 'torch-default' });
  const variant = ['cifar', bn ? 'bn' : '', width !== 1 ? `w${width}` : ''].filter(Boolean).join('-');
  return { name: 'vgg11', variant, input: [...input] as [number, number, number], classes, layers };
}
