/**
 * conv2d with stride = kernel and no padding, so every conv output reads its own disjoint input
 * patch, followed by (relu and) a tiling maxpool (stride = kernel, no padding) over the conv output.
 * The constructive chain generators choose patches per conv output and so control each
 * pre-activation exactly.
 */
import fc, { type Arbitrary } from 'fast-check';
import type { Pair, Problem } from '../../problem/index.ts';
import { poolWindows, type PoolGeometry, type PoolWindow } from './geometry.ts';
import { convChainProblem } from './problems.ts';

export interface PatchLayout {
  readonly inChannels: number;
  readonly outChannels: number;
  /** Conv kernel, also the conv stride. */
  readonly kernel: Pair;
  /** Conv output height and width. */
  readonly convOut: Pair;
  /** Pool kernel, also the pool stride. */
  readonly pool: Pair;
  readonly relu: boolean;
  readonly bias: boolean;
}

type Choice = 'always' | 'never' | 'optional';

export interface PatchLayoutOptions {
  /** Least number of pooling windows per out channel (1 or 2). */
  readonly minWindows?: number;
  readonly relu?: Choice;
  readonly bias?: Choice;
}

function choice(c: Choice): Arbitrary<boolean> {
  return c === 'optional' ? fc.boolean() : fc.constant(c === 'always');
}

const MAX_SPATIAL = 8;

export function patchLayout(opts: PatchLayoutOptions = {}): Arbitrary<PatchLayout> {
  const minWindows = opts.minWindows ?? 1;
  return fc
    .record({
      inChannels: fc.integer({ min: 1, max: 2 }),
      outChannels: fc.integer({ min: 1, max: 2 }),
      kernel: fc.tuple(fc.integer({ min: 2, max: 3 }), fc.integer({ min: 2, max: 3 })),
      pool: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
      windows: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })),
      relu: choice(opts.relu ?? 'always'),
      bias: choice(opts.bias ?? 'never'),
    })
    .map((r) => {
      const [kh, kw] = r.kernel;
      let [ph, pw] = r.pool;
      if (ph * pw < 2) pw = 2;
      const capH = (p: number) => Math.floor(Math.floor(MAX_SPATIAL / kh) / p);
      const capW = (p: number) => Math.floor(Math.floor(MAX_SPATIAL / kw) / p);
      let nh = Math.min(r.windows[0], capH(ph));
      let nw = Math.min(r.windows[1], capW(pw));
      if (nh * nw < minWindows) {
        if (capW(pw) >= 2) nw = 2;
        else if (capH(ph) >= 2) nh = 2;
        else {
          // 3×3 conv kernel under a 2×2 pool: only one window fits; pool 2 rows × 1 column instead.
          pw = 1;
          nw = 2;
        }
      }
      return {
        inChannels: r.inChannels,
        outChannels: r.outChannels,
        kernel: r.kernel,
        convOut: [ph * nh, pw * nw] as Pair,
        pool: [ph, pw] as Pair,
        relu: r.relu,
        bias: r.bias,
      };
    });
}

/** Number of inputs feeding one conv output (in channels × kernel area). */
export function patchSize(l: PatchLayout): number {
  return l.inChannels * l.kernel[0] * l.kernel[1];
}

export function inputShape(l: PatchLayout): [number, number, number, number] {
  return [1, l.inChannels, l.kernel[0] * l.convOut[0], l.kernel[1] * l.convOut[1]];
}

export function convOutCount(l: PatchLayout): number {
  return l.outChannels * l.convOut[0] * l.convOut[1];
}

/** Spatial positions (oy·Wo + ox) of the conv output. */
export function positionCount(l: PatchLayout): number {
  return l.convOut[0] * l.convOut[1];
}

/** The maxpool as a geometry over the conv output (entries are flat conv-output indices). */
export function poolGeometry(l: PatchLayout): PoolGeometry {
  return { channels: l.outChannels, height: l.convOut[0], width: l.convOut[1], kernel: l.pool, stride: l.pool, padding: [0, 0] };
}

export function windowsOf(l: PatchLayout): PoolWindow[] {
  return poolWindows(poolGeometry(l));
}

export function poolOutCount(l: PatchLayout): number {
  return l.outChannels * (l.convOut[0] / l.pool[0]) * (l.convOut[1] / l.pool[1]);
}

/** Write `patch` (row-major (ci, ky, kx)) as the input patch of spatial position `pos`. */
export function writePatch(l: PatchLayout, data: number[], pos: number, patch: readonly number[]): void {
  const [, C, H, W] = inputShape(l);
  const [kh, kw] = l.kernel;
  const oy = Math.floor(pos / l.convOut[1]);
  const ox = pos % l.convOut[1];
  let i = 0;
  for (let ci = 0; ci < C; ci++)
    for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) data[(ci * H + oy * kh + ky) * W + ox * kw + kx] = patch[i++];
}

/** Weight row of out channel co (row-major (ci, ky, kx)), the same order as a patch. */
export function weightRow(l: PatchLayout, weight: readonly number[], co: number): number[] {
  const K = patchSize(l);
  return weight.slice(co * K, (co + 1) * K);
}

export function layoutProblem(
  l: PatchLayout,
  data: readonly number[],
  weight: readonly number[],
  bias: readonly number[] | undefined,
  cotangent: readonly number[],
): Problem {
  return convChainProblem({
    input: { shape: inputShape(l), data },
    conv: { kind: 'conv2d', outChannels: l.outChannels, kernel: l.kernel, stride: l.kernel, padding: [0, 0], bias: l.bias },
    params: l.bias ? { weight, bias: bias ?? new Array<number>(l.outChannels).fill(0) } : { weight },
    relu: l.relu,
    pool: { kind: 'maxpool', kernel: l.pool, stride: l.pool, padding: [0, 0] },
    cotangent,
  });
}
