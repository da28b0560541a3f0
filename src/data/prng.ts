/**
 * The data pipeline's PRNG, fully specified so any other implementation can reproduce an epoch:
 *
 * - Generator: mulberry32 (Tommy Ettinger, 2017), 32-bit state s. Each draw:
 *   s = (s + 0x6D2B79F5) mod 2^32; t = s; t = imul(t ^ t>>>15, t | 1);
 *   t ^= t + imul(t ^ t>>>7, t | 61); output (t ^ t>>>14) as uint32.
 * - Integers in [0, m): rejection sampling — draw u until u < 2^32 − (2^32 mod m), return u mod m
 *   (exactly uniform).
 * - Seeds: `mixSeed(a, b, …)` folds integers (any safe integer, negative allowed) into one 32-bit
 *   state with murmur3's fmix32: h = 0x9E3779B9; for each part p with lo = p mod 2^32 and
 *   hi = floor(p / 2^32) mod 2^32: h = fmix32(h ^ lo); h = fmix32(imul(h, 0x9E3779B1) ^ hi).
 * - Shuffle: Fisher–Yates from the end, for i = n−1 … 1: j = int(i+1), swap order[i], order[j],
 *   starting from the identity, with the generator seeded mixSeed(seed, epoch, 0x5348 /'SH'/).
 * - Augmentation of dataset index k: its own generator seeded mixSeed(seed, epoch, 0x4147 /'AG'/, k),
 *   so it does not depend on batch size, order or shuffling.
 */
import { DataError } from './errors.ts';

export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    if (!Number.isSafeInteger(p)) throw new DataError('option', `seeds must be safe integers, got ${p}`);
    const lo = p >>> 0;
    const hi = Math.floor(p / 2 ** 32) >>> 0;
    h = fmix32((h ^ lo) >>> 0);
    h = fmix32((Math.imul(h, 0x9e3779b1) ^ hi) >>> 0);
  }
  return h;
}

export class Mulberry32 {
  private s: number;
  constructor(state: number) {
    this.s = state >>> 0;
  }
  /** Next uint32. */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform integer in [0, m), 1 ≤ m ≤ 2^32, by rejection. */
  int(m: number): number {
    if (!Number.isInteger(m) || m < 1 || m > 2 ** 32)
      throw new DataError('option', `Mulberry32.int: m must be an integer in [1, 2^32], got ${m}`);
    const limit = 2 ** 32 - (2 ** 32 % m);
    for (;;) {
      const u = this.next();
      if (u < limit) return u % m;
    }
  }
}

/** A permutation of 0..n−1: the identity if !shuffle, else the Fisher–Yates shuffle above. */
export function epochOrder(n: number, seed: number, epoch: number, shuffle: boolean): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (!shuffle) return order;
  const rng = new Mulberry32(mixSeed(seed, epoch, 0x5348));
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}
