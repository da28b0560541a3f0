/**
 * Backend-neutral model descriptions (docs/DESIGN.md §4–§5 `models`): a network is a list of nodes, each a
 * layer or a residual block, with named parameters. The engine (src/backends/engine/network.ts) and tfjs
 * (src/backends/tfjs/models.ts) each build the same network from one spec, so the two can be
 * compared weight for weight.
 *
 * Layout is NCHW; conv weights [out, in, kh, kw]; linear weights [out, in] (y = x·Wᵀ + b).
 * Every MaxPool takes the Jacobian choice of the run (family member, β), every ReLU its α.
 */
import type { Pair } from '../problem/index.ts';

export type NetLayer =
  | {
      readonly kind: 'conv2d';
      readonly name: string;
      readonly inChannels: number;
      readonly outChannels: number;
      readonly kernel: Pair;
      readonly stride: Pair;
      readonly padding: Pair;
      readonly bias: boolean;
      readonly init: 'kaiming-uniform' | 'torch-default';
    }
  | { readonly kind: 'batchnorm2d'; readonly name: string; readonly channels: number; readonly eps: number; readonly momentum: number }
  | { readonly kind: 'relu' }
  | { readonly kind: 'maxpool'; readonly kernel: Pair; readonly stride: Pair; readonly padding: Pair }
  | { readonly kind: 'avgpool'; readonly kernel: Pair; readonly stride: Pair }
  /** Average over all spatial positions: [N, C, H, W] → [N, C, 1, 1]. */
  | { readonly kind: 'globalavgpool' }
  /** [N, C, H, W] → [N, C·H·W]. */
  | { readonly kind: 'flatten' }
  | {
      readonly kind: 'linear';
      readonly name: string;
      readonly inFeatures: number;
      readonly outFeatures: number;
      readonly bias: boolean;
      readonly init: 'normal-0.01' | 'torch-default';
    }
  /** out = body(x) + shortcut(x) (an empty shortcut is the identity); a ReLU after it is its own node. */
  | { readonly kind: 'residual'; readonly body: readonly NetLayer[]; readonly shortcut: readonly NetLayer[] };

export interface ModelSpec {
  /** 'lenet5', 'vgg11', 'resnet18', with variant details in `variant`. */
  readonly name: string;
  readonly variant: string;
  /** Input shape without the batch: [C, H, W]. */
  readonly input: readonly [number, number, number];
  readonly classes: number;
  readonly layers: readonly NetLayer[];
}

/** A named parameter: its shape and initial values. Batch-norm running statistics are buffers, not parameters. */
export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly kind: 'weight' | 'bias' | 'bn-gamma' | 'bn-beta';
}

export interface BufferSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly kind: 'bn-running-mean' | 'bn-running-var';
}

/**
 * Every parameter of a spec in a fixed order (depth-first, residual body before shortcut), with
 * PyTorch's names: `${layer.name}.weight`, `${layer.name}.bias`; batch norm's γ is `.weight` and
 * β is `.bias`.
 */
export function paramsOf(spec: Pick<ModelSpec, 'layers'>): ParamSpec[] {
  const out: ParamSpec[] = [];
  const walk = (layers: readonly NetLayer[]) => {
    for (const l of layers) {
      switch (l.kind) {
        case 'conv2d':
          out.push({ name: `${l.name}.weight`, shape: [l.outChannels, l.inChannels, l.kernel[0], l.kernel[1]], kind: 'weight' });
          if (l.bias) out.push({ name: `${l.name}.bias`, shape: [l.outChannels], kind: 'bias' });
          break;
        case 'linear':
          out.push({ name: `${l.name}.weight`, shape: [l.outFeatures, l.inFeatures], kind: 'weight' });
          if (l.bias) out.push({ name: `${l.name}.bias`, shape: [l.outFeatures], kind: 'bias' });
          break;
        case 'batchnorm2d':
          out.push({ name: `${l.name}.weight`, shape: [l.channels], kind: 'bn-gamma' });
          out.push({ name: `${l.name}.bias`, shape: [l.channels], kind: 'bn-beta' });
          break;
        case 'residual':
          walk(l.body);
          walk(l.shortcut);
          break;
        default:
          break;
      }
    }
  };
  walk(spec.layers);
  const dup = out.find((p, i) => out.findIndex((q) => q.name === p.name) !== i);
  if (dup) throw new Error(`model spec: parameter name ${dup.name} is used twice`);
  return out;
}

/** Batch-norm running statistics: `${name}.running_mean`, `${name}.running_var` (PyTorch's names). */
export function buffersOf(spec: Pick<ModelSpec, 'layers'>): BufferSpec[] {
  const out: BufferSpec[] = [];
  const walk = (layers: readonly NetLayer[]) => {
    for (const l of layers) {
      if (l.kind === 'batchnorm2d') {
        out.push({ name: `${l.name}.running_mean`, shape: [l.channels], kind: 'bn-running-mean' });
        out.push({ name: `${l.name}.running_var`, shape: [l.channels], kind: 'bn-running-var' });
      } else if (l.kind === 'residual') {
        walk(l.body);
        walk(l.shortcut);
      }
    }
  };
  walk(spec.layers);
  return out;
}

export function countParams(spec: Pick<ModelSpec, 'layers'>): number {
  return paramsOf(spec).reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
}
