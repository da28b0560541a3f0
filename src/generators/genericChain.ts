import fc, { type Arbitrary } from 'fast-check';
import type { Conv2dSpec, MaxPoolSpec, Pair } from '../problem/index.ts';
import { windowOutSize } from '../problem/index.ts';
import type { Case } from './types.ts';
import { cotangent } from './_internals/cotangent.ts';
import { convChainProblem } from './_internals/problems.ts';
import { symmetric } from './_internals/values.ts';
import { constraintsObject, integer, optionalBoolean, positive } from './_internals/constraints.ts';

interface Shape {
  inChannels: number;
  size: Pair;
  conv: Conv2dSpec;
  pool: MaxPoolSpec;
}

/** genericChain's constraints (every field optional). */
export interface GenericChainConstraints {
  /** Largest input height and width: a whole number from 3 (conv kernels reach 3) to 64 (default 8). */
  readonly maxSize?: number;
  /** Whether the conv has a bias (default: drawn). */
  readonly bias?: boolean;
  /** Inputs are uniform by value in (−inputBound, inputBound): a number above 0, at most 2^64 (default 4). */
  readonly inputBound?: number;
  /** Weights and bias are uniform by value in (−weightBound, weightBound): a number above 0, at most 2^64 (default 1). */
  readonly weightBound?: number;
}

const FIELDS = ['maxSize', 'bias', 'inputBound', 'weightBound'] as const;

interface Resolved {
  readonly maxSize: number;
  readonly bias: boolean | undefined;
  readonly inputBound: number;
  readonly weightBound: number;
}

function resolve(constraints: GenericChainConstraints): Resolved {
  const at = { who: 'genericChain', prefix: '' };
  const c = constraintsObject(at, constraints, FIELDS);
  return {
    maxSize: integer(at, 'maxSize', c.maxSize, 8, { min: 3, max: 64 }),
    bias: optionalBoolean(at, 'bias', c.bias),
    inputBound: positive(at, 'inputBound', c.inputBound, 4, 2 ** 64),
    weightBound: positive(at, 'weightBound', c.weightBound, 1, 2 ** 64),
  };
}

/** kernel ≤ max, stride ≤ kernel, padding ≤ ⌊kernel/2⌋, all by clamping drawn integers. */
function axis(kRaw: number, sRaw: number, pRaw: number, limit: number) {
  const kernel = Math.max(1, Math.min(kRaw, limit));
  return { kernel, stride: Math.min(1 + sRaw, kernel), padding: Math.min(pRaw, Math.floor(kernel / 2)) };
}

/**
 * Shapes of conv2d → relu → maxpool: input 1–2 channels up to maxSize², conv kernel 1–3, stride
 * 1..kernel, padding 0..⌊kernel/2⌋, 1–2 out channels, optional bias; maxpool kernel 1–3 (at most
 * the conv output), stride 1..kernel, padding 0..⌊kernel/2⌋. Clamping, not rejection, so shrinks stay valid.
 */
function chainShape(maxSize: number, bias: boolean | undefined): Arbitrary<Shape> {
  const pair = (min: number, max: number) => fc.tuple(fc.integer({ min, max }), fc.integer({ min, max }));
  return fc
    .record({
      inChannels: fc.integer({ min: 1, max: 2 }),
      outChannels: fc.integer({ min: 1, max: 2 }),
      extra: pair(0, maxSize - 1),
      convK: pair(1, 3),
      convS: pair(0, 2),
      convP: pair(0, 1),
      bias: bias === undefined ? fc.boolean() : fc.constant(bias),
      poolK: pair(1, 3),
      poolS: pair(0, 2),
      poolP: pair(0, 1),
    })
    .map((r) => {
      const size: number[] = [];
      const conv = [0, 1].map((a) => axis(r.convK[a], r.convS[a], r.convP[a], 3));
      const pool = [0, 1].map((a) => {
        const c = conv[a];
        const n = Math.min(maxSize, Math.max(1, c.kernel - 2 * c.padding) + r.extra[a]);
        size.push(n);
        // A pool kernel no larger than the conv output always gives ≥ 1 output.
        return axis(r.poolK[a], r.poolS[a], r.poolP[a], windowOutSize(n, c.kernel, c.stride, c.padding));
      });
      return {
        inChannels: r.inChannels,
        size: [size[0], size[1]] as Pair,
        conv: {
          kind: 'conv2d' as const,
          outChannels: r.outChannels,
          kernel: [conv[0].kernel, conv[1].kernel] as Pair,
          stride: [conv[0].stride, conv[1].stride] as Pair,
          padding: [conv[0].padding, conv[1].padding] as Pair,
          bias: r.bias,
        },
        pool: {
          kind: 'maxpool' as const,
          kernel: [pool[0].kernel, pool[1].kernel] as Pair,
          stride: [pool[0].stride, pool[1].stride] as Pair,
          padding: [pool[0].padding, pool[1].padding] as Pair,
        },
      };
    });
}

/**
 * The regular background: conv2d → relu → maxpool with random shapes (see chainShape) and random
 * doubles uniform by value (inputs in (−inputBound, inputBound), weights and bias in (−weightBound,
 * weightBound); by default 4 and 1), without fast-check's bias towards special values, so that ties
 * are as rare as over the reals.
 *
 * meta: inChannels, outChannels, size ('H×W'), convKernel, poolKernel, bias.
 *
 * Without constraints it draws what it always drew (same seed, same cases). A bad constraint throws
 * ConfigError naming the field.
 */
export function genericChain(constraints: GenericChainConstraints = {}): Arbitrary<Case> {
  const r = resolve(constraints);
  return chainShape(r.maxSize, r.bias).chain((s) => {
    const [H, W] = s.size;
    const convOut = s.conv.kernel.map((k, a) => windowOutSize(s.size[a], k, s.conv.stride[a], s.conv.padding[a]));
    const poolOut = s.pool.kernel.map((k, a) => windowOutSize(convOut[a], k, s.pool.stride[a], s.pool.padding[a]));
    const nIn = s.inChannels * H * W;
    const nW = s.conv.outChannels * s.inChannels * s.conv.kernel[0] * s.conv.kernel[1];
    const nOut = s.conv.outChannels * poolOut[0] * poolOut[1];
    const arr = (arb: Arbitrary<number>, n: number) => fc.array(arb, { minLength: n, maxLength: n });
    return fc
      .record({
        input: arr(symmetric(r.inputBound), nIn),
        weight: arr(symmetric(r.weightBound), nW),
        bias: arr(symmetric(r.weightBound), s.conv.outChannels),
        cotangent: cotangent(nOut),
      })
      .map(
        (d): Case => ({
          problem: convChainProblem({
            input: { shape: [1, s.inChannels, H, W], data: d.input },
            conv: s.conv,
            params: s.conv.bias ? { weight: d.weight, bias: d.bias } : { weight: d.weight },
            relu: true,
            pool: s.pool,
            cotangent: d.cotangent,
          }),
          meta: {
            inChannels: s.inChannels,
            outChannels: s.conv.outChannels,
            size: `${H}×${W}`,
            convKernel: s.conv.kernel.join('×'),
            poolKernel: s.pool.kernel.join('×'),
            bias: s.conv.bias,
          },
        }),
      );
  });
}
