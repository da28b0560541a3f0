/**
 * The state of one exact-routing run (exact.ts) that its per-layer steps share: each tensor's
 * bounded float values, error bounds and structural ids, the routing decided so far, and the small
 * integer-array helpers the steps use. Paths and index conventions: types.ts.
 */
import type { Dy, Graph } from '../../oracle/network/index.ts';
import { recycleInt32, takeInt32 } from './interner.ts';

/**
 * Structural id of a ReLU output whose exact pre-activation is negative: the constant 0. Negative,
 * so it never collides with an interned id, and not −1, which patch keys use for padding (zero
 * padding in a conv, −∞ in a MaxPool: conflating the latter with 0 would be wrong).
 */
export const ZERO_SID = -2;

/** One tensor of the bounded float forward (filter stages (a) and (b)), and its exact values found so far. */
export interface TState {
  val: Float64Array;
  err: Float64Array;
  sid: Int32Array;
  /** Exact numerators by sid (shared with flatten aliases). */
  memo: Map<number, Dy>;
}

/** How many units of a node each filter stage decided. */
export interface Counter {
  float: number;
  structural: number;
  exact: number;
}

/** What a layer step reads and writes beyond its own input and output tensors. */
export interface RunContext {
  readonly g: Graph;
  /** Tensor states by tensor index (flatten outputs share their input's). */
  readonly t: readonly TState[];
  /** Whether the engine's WebAssembly kernels compute the dot products (else the JS loops). */
  readonly kernels: boolean;
  readonly ties: Map<number, number[][]>;
  readonly signs: Map<number, Int8Array>;
  readonly counters: Map<number, Counter>;
  /** Stage (c): exact numerator of entry i of tensor t. */
  exactAt(t: number, i: number): Dy;
}

export function newCounter(): Counter {
  return { float: 0, structural: 0, exact: 0 };
}

export function emptyState(size: number): TState {
  return { val: new Float64Array(size), err: new Float64Array(size), sid: new Int32Array(size), memo: new Map() };
}

/**
 * The network input: exact values (e = 0), and one sid per distinct value (SameValueZero, so +0
 * and −0, one real value, share one), numbered in order of first occurrence.
 */
export function inputState(size: number, x: ArrayLike<number>): TState {
  const val = Float64Array.from(x);
  const sid = new Int32Array(size);
  const ids = new Map<number, number>();
  let last = NaN; // inputs are finite: never equal to the first value
  let lastId = -1;
  for (let i = 0; i < size; i++) {
    const v = val[i];
    if (v === last) {
      // === like SameValueZero: +0 and −0 are one real value
      sid[i] = lastId;
      continue;
    }
    let id = ids.get(v); // SameValueZero
    if (id === undefined) {
      id = ids.size;
      ids.set(v, id);
    }
    sid[i] = id;
    last = v;
    lastId = id;
  }
  return { val, err: new Float64Array(size), sid, memo: new Map() };
}

/** Placeholder of a MaxPool's tie list before its window is decided (keeps the list packed). */
export const NO_TIES: number[] = [];

/** cand[0..n) as a number[] of exactly n elements (no spare capacity: thousands of them are kept). */
export function listOf(cand: Int32Array, n: number): number[] {
  switch (n) {
    case 1:
      return [cand[0]];
    case 2:
      return [cand[0], cand[1]];
    case 3:
      return [cand[0], cand[1], cand[2]];
    case 4:
      return [cand[0], cand[1], cand[2], cand[3]];
    default:
      return Array.from(cand.subarray(0, n));
  }
}

/**
 * A map from the sids of one tensor (ZERO_SID or non-negative) to non-negative numbers, in a typed
 * array indexed by s − ZERO_SID; −1 for absent.
 */
export class SidCache {
  private map: Int32Array;
  private count = 0;

  constructor(sid: Int32Array) {
    let max = 0;
    for (let i = 0; i < sid.length; i++) if (sid[i] > max) max = sid[i];
    const n = max + 1 - ZERO_SID;
    this.map = takeInt32(n, false);
    this.map.fill(-1, 0, n);
  }

  /** Give the map back to the pool: the cache must not be used afterwards. */
  release(): void {
    recycleInt32(this.map);
  }

  get(s: number): number {
    return this.map[s - ZERO_SID];
  }

  set(s: number, v: number): void {
    this.map[s - ZERO_SID] = v;
  }

  /** A dense numbering of the sids asked for: 0, 1, 2, … in order of first request. */
  dense(s: number): number {
    let d = this.map[s - ZERO_SID];
    if (d < 0) {
      d = this.count++;
      this.map[s - ZERO_SID] = d;
    }
    return d;
  }
}

/** a, grown past index i, the new entries −1. */
export function grownFilled(a: Int32Array, i: number): Int32Array<ArrayBuffer> {
  let n = a.length * 2;
  while (n <= i) n *= 2;
  const r = new Int32Array(n).fill(-1);
  r.set(a);
  return r;
}

export function grown(a: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const r = new Uint8Array(a.length * 2);
  r.set(a);
  return r;
}
