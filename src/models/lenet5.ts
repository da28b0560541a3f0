/**
 * LeNet-5 (docs/DESIGN.md §4), two variants:
 *
 * - 'paper' (the paper's training setup): conv1 6@5×5 (no padding) → ReLU → MaxPool 2×2 →
 *   conv2 16@5×5 → ReLU → MaxPool 2×2 → flatten → fc1 256→120 → ReLU → fc2 120→84 → ReLU →
 *   fc3 84→10, on 1×28×28 MNIST (28 −5+1 = 24, /2 = 12, −5+1 = 8, /2 = 4: 16·4·4 = 256).
 *   Init: Kaiming-uniform convs, N(0, 0.01) linears, zero biases (see init.ts).
 * - 'padded' (PyTorch's usual LeNet, the §4 PyTorch run): conv1 has padding 2, so the flatten has
 *   16·5·5 = 400 features; PyTorch's default init unless `init: 'paper'` is asked for.
 *
 * `batchNorm` inserts BatchNorm2d (eps 1e-5, momentum 0.1) after each conv, before its ReLU (the
 * paper's BN ablation); the convs keep their biases then, as nn.Conv2d does by default.
 *
 * Names are PyTorch's attribute names: conv1, bn1, conv2, bn2, fc1, fc2, fc3.
 */
import type { ModelSpec, NetLayer } from './spec.ts';

export interface LeNet5Options {
  readonly padded?: boolean;
  readonly batchNorm?: boolean;
  /** 'paper' (Kaiming-uniform convs, N(0,0.01) linears, zero biases) or 'torch-default'. */
  readonly init?: 'paper' | 'torch-default';
  readonly classes?: number;
  /** [C, H, W]; default [1, 28, 28]. */
  readonly input?: readonly [number, number, number];
}

const BN_EPS = 1e-5;
const BN_MOMENTUM = 0.1;

export function lenet5(opts: LeNet5Options = {}): ModelSpec {
  const padded = opts.padded ?? false;
  const bn = opts.batchNorm ?? false;
  const init = opts.init ?? (padded ? 'torch-default' : 'paper');
  const classes = opts.classes ?? 10;
  const input = opts.input ?? ([1, 28, 28] as const);
  const convInit = init === 'paper' ? 'kaiming-uniform' : 'torch-default';
  const fcInit = init === 'paper' ? 'normal-0.01' : 'torch-default';
  const p = padded ? 2 : 0;
  // Spatial size: conv 5×5 (stride 1, padding p), then MaxPool 2×2 stride 2 (floor), twice.
  const after = (n: number) => Math.floor((Math.floor((n + 2 * p - 4) / 2) - 4) / 2);
  const [h, w] = [after(input[1]), after(input[2])];
  if (!(h >= 1 && w >= 1)) throw new Error(`lenet5: input ${input.join('×')} is too small (the feature map vanishes before fc1)`);
  const flat = 16 * h * w;

  const conv = (name: string, inC: number, outC: number, pad: number): NetLayer => ({
    kind: 'conv2d',
    name,
    inChannels: inC,
    outChannels: outC,
    kernel: [5, 5],
    stride: [1, 1],
    padding: [pad, pad],
    bias: true,
    init: convInit,
  });
  const norm = (name: string, c: number): NetLayer[] =>
    bn ? [{ kind: 'batchnorm2d', name, channels: c, eps: BN_EPS, momentum: BN_MOMENTUM }] : [];
  const pool: NetLayer = { kind: 'maxpool', kernel: [2, 2], stride: [2, 2], padding: [0, 0] };
  const fc = (name: string, i: number, o: number): NetLayer => ({
    kind: 'linear',
    name,
    inFeatures: i,
    outFeatures: o,
    bias: true,
    init: fcInit,
  });
  const layers: NetLayer[] = [
    conv('conv1', input[0], 6, p),
    ...norm('bn1', 6),
    { kind: 'relu' },
    pool,
    conv('conv2', 6, 16, 0),
    ...norm('bn2', 16),
    { kind: 'relu' },
    pool,
    { kind: 'flatten' },
    fc('fc1', flat, 120),
    { kind: 'relu' },
    fc('fc2', 120, 84),
    { kind: 'relu' },
    fc('fc3', 84, classes),
  ];
  const variant = [padded ? 'padded' : 'paper', bn ? 'bn' : '', init !== (padded ? 'torch-default' : 'paper') ? `init-${init}` : '']
    .filter(Boolean)
    .join('-');
  return { name: 'lenet5', variant, input: [...input] as [number, number, number], classes, layers };
}
