/**
 * Filter stages (a) and (b) of the averaging layers and residual adds (exact.ts): values with
 * rigorous bounds (bounds.ts: an average of k values, TwoSum for an add) and structural ids
 * interned from the input sids they combine. They decide no routing.
 */
import type { NodeOf } from '../../oracle/network/index.ts';
import { finish, gamma, inflation, twoSumError } from './bounds.ts';
import { Interner } from './interner.ts';
import type { RunContext, TState } from './state.ts';

/** One averaged output o over inp[idx[0..len)]: value, bound, and the sid of its key. */
function pooled(
  inp: TState,
  out: TState,
  o: number,
  idx: ArrayLike<number>,
  len: number,
  keyLen: number,
  key: Int32Array,
  interner: Interner,
  k: number,
  G: number,
  c: number,
): void {
  let s = 0;
  let se = 0;
  let sa = 0;
  for (let j = 0; j < len; j++) {
    const i = idx[j];
    s += inp.val[i];
    se += inp.err[i];
    sa += Math.abs(inp.val[i]);
  }
  out.val[o] = s / k;
  out.err[o] = se === 0 && sa === 0 ? 0 : finish((se + G * sa) / k, c);
  out.sid[o] = interner.intern(key, keyLen);
}

export function avgpoolForward(run: RunContext, nd: NodeOf<'avgpool'>, out: TState): void {
  const inp = run.t[nd.input];
  const [N, C, H, W] = run.g.tensors[nd.input].shape;
  const { outH, outW, kk, map } = nd.win;
  const P = outH * outW;
  const key = new Int32Array(kk);
  const idx = new Int32Array(kk);
  const interner = new Interner(kk * 64);
  const G = gamma(kk);
  const c = inflation(kk + 4);
  for (let plane = 0; plane < N * C; plane++) {
    const base = plane * H * W;
    for (let pos = 0; pos < P; pos++) {
      let len = 0;
      for (let j = 0; j < kk; j++) {
        const off = map[pos * kk + j];
        key[j] = off < 0 ? -1 : inp.sid[base + off];
        if (off >= 0) idx[len++] = base + off;
      }
      pooled(inp, out, plane * P + pos, idx, len, kk, key, interner, kk, G, c);
    }
  }
  interner.release();
}

export function globalavgpoolForward(run: RunContext, nd: NodeOf<'globalavgpool'>, out: TState): void {
  const inp = run.t[nd.input];
  const [N, C, H, W] = run.g.tensors[nd.input].shape;
  const HW = H * W;
  const idx = new Int32Array(HW);
  const interner = new Interner(HW * 16);
  const G = gamma(HW);
  const c = inflation(HW + 4);
  for (let plane = 0; plane < N * C; plane++) {
    for (let j = 0; j < HW; j++) idx[j] = plane * HW + j;
    pooled(inp, out, plane, idx, HW, HW, inp.sid.subarray(plane * HW, plane * HW + HW), interner, HW, G, c);
  }
  interner.release();
}

export function addForward(run: RunContext, nd: NodeOf<'add'>, out: TState): void {
  const a = run.t[nd.input];
  const b = run.t[nd.other];
  const interner = new Interner(1024);
  const key = new Int32Array(2);
  const c = inflation(4);
  for (let i = 0; i < out.val.length; i++) {
    const x = a.val[i];
    const y = b.val[i];
    const s = x + y;
    const r = twoSumError(x, y, s);
    out.val[i] = s;
    const ex = a.err[i] + b.err[i];
    out.err[i] = ex === 0 && r === 0 ? 0 : finish(ex + Math.abs(r), c);
    key[0] = a.sid[i];
    key[1] = b.sid[i];
    out.sid[i] = interner.intern(key, 2);
  }
  interner.release();
}
