/**
 * ResNet18 (He et al. 2016): BasicBlocks [2, 2, 2, 2] with 64, 128, 256, 512 channels (× width),
 * stride 2 at the first block of layers 2–4, global average pool, fc.
 *
 * Stems:
 * - 'cifar' (kuangliu/pytorch-cifar): conv1 3×3 stride 1 padding 1 [→ bn1] → ReLU, no MaxPool.
 * - 'imagenet' (torchvision): conv1 7×7 stride 2 padding 3 [→ bn1] → ReLU → MaxPool 3×3 stride 2
 *   padding 1 (the only MaxPool of the network).
 *
 * BasicBlock: out = ReLU(body(x) + shortcut(x)), body = conv 3×3 (stride s) [→ bn] → ReLU →
 * conv 3×3 [→ bn]; the shortcut is the identity, or a projection 1×1 conv stride s [→ bn] where
 * the shape changes (stride ≠ 1 or channels differ, the rule both torchvision and kuangliu use).
 * With batch norm the convs have no bias (as in both); without it every conv gets a bias and
 * no BatchNorm2d is inserted.
 *
 * Names are torchvision's for both stems: conv1, bn1, layer{1..4}.{0,1}.conv1/bn1/conv2/bn2,
 * layer{2..4}.0.downsample.0 (conv) / .downsample.1 (bn), fc. (kuangliu calls the projection
 * `shortcut` and the classifier `linear`; the tensors are the same.) Init is PyTorch's default
 * for every conv and linear (kuangliu adds none).
 */
import type { ModelSpec, NetLayer } from './spec.ts';
import { scaled } from './vgg11.ts';

export type ResNetStem = 'cifar' | 'imagenet';

export interface ResNet18Options {
  readonly width?: number;
  readonly batchNorm?: boolean;
  readonly stem?: ResNetStem;
  /** Default 10 for the CIFAR stem, 1000 for the ImageNet stem. */
  readonly classes?: number;
  /** [C, H, W]; default [3, 32, 32] (cifar) or [3, 224, 224] (imagenet). */
  readonly input?: readonly [number, number, number];
}

const out = (n: number, k: number, s: number, p: number) => Math.floor((n + 2 * p - k) / s) + 1;

export function resnet18(opts: ResNet18Options = {}): ModelSpec {
  const width = opts.width ?? 1;
  const bn = opts.batchNorm ?? true;
  const stem = opts.stem ?? 'cifar';
  if (stem !== 'cifar' && stem !== 'imagenet') throw new Error(`resnet18: unknown stem '${String(stem)}': expected cifar or imagenet`);
  const classes = opts.classes ?? (stem === 'cifar' ? 10 : 1000);
  const input = opts.input ?? (stem === 'cifar' ? ([3, 32, 32] as const) : ([3, 224, 224] as const));

  const conv = (name: string, inC: number, outC: number, k: number, s: number, p: number): NetLayer => ({
    kind: 'conv2d',
    name,
    inChannels: inC,
    outChannels: outC,
    kernel: [k, k],
    stride: [s, s],
    padding: [p, p],
    bias: !bn,
    init: 'torch-default',
  });
  const norm = (name: string, c: number): NetLayer[] => (bn ? [{ kind: 'batchnorm2d', name, channels: c, eps: 1e-5, momentum: 0.1 }] : []);

  const layers: NetLayer[] = [];
  const c0 = scaled(64, width);
  let [h, w] = [input[1], input[2]];
  if (stem === 'cifar') {
    layers.push(conv('conv1', input[0], c0, 3, 1, 1), ...norm('bn1', c0), { kind: 'relu' });
  } else {
    layers.push(conv('conv1', input[0], c0, 7, 2, 3), ...norm('bn1', c0), { kind: 'relu' });
    layers.push({ kind: 'maxpool', kernel: [3, 3], stride: [2, 2], padding: [1, 1] });
    [h, w] = [out(out(h, 7, 2, 3), 3, 2, 1), out(out(w, 7, 2, 3), 3, 2, 1)];
  }
  let c = c0;
  [64, 128, 256, 512].forEach((planes, li) => {
    const pc = scaled(planes, width);
    for (let b = 0; b < 2; b++) {
      const s = li > 0 && b === 0 ? 2 : 1;
      const pre = `layer${li + 1}.${b}`;
      const body = [
        conv(`${pre}.conv1`, c, pc, 3, s, 1),
        ...norm(`${pre}.bn1`, pc),
        { kind: 'relu' } as const,
        conv(`${pre}.conv2`, pc, pc, 3, 1, 1),
        ...norm(`${pre}.bn2`, pc),
      ];
      const shortcut = s !== 1 || c !== pc ? [conv(`${pre}.downsample.0`, c, pc, 1, s, 0), ...norm(`${pre}.downsample.1`, pc)] : [];
      layers.push({ kind: 'residual', body, shortcut }, { kind: 'relu' });
      [h, w] = [out(h, 3, s, 1), out(w, 3, s, 1)];
      c = pc;
    }
  });
  if (!(h >= 1 && w >= 1)) throw new Error(`resnet18: input ${input.join('×')} is too small for the ${stem} stem`);
  layers.push({ kind: 'globalavgpool' }, { kind: 'flatten' });
  layers.push({ kind: 'linear', name: 'fc', inFeatures: c, outFeatures: classes, bias: true, init: 'torch-default' });
  const variant = [stem, bn ? 'bn' : '', width !== 1 ? `w${width}` : ''].filter(Boolean).join('-');
  return { name: 'resnet18', variant, input: [...input] as [number, number, number], classes, layers };
}
