/**
 * Filter stage (b) of a conv layer (exact.ts): the exact interning of its input patches, so that
 * equal patches of input sids get one id, hence one structural id per (patch, output channel).
 */
import type { ConvNode, Graph } from '../../oracle/network/index.ts';
import { Interner } from './interner.ts';
import { grown, grownFilled, SidCache, type TState } from './state.ts';

/** The conv patches of one layer. */
export interface Patches {
  /** Patch id of every (n, pos), n·P + pos. */
  readonly id: Int32Array;
  /** By patch id: 1 when every in-bounds entry is an exact zero (the output is the bias, exactly). */
  readonly zero: Uint8Array;
  /** By patch id: its first (n·P + pos). */
  readonly rep: readonly number[];
}

/**
 * Exact interning of the conv patches: id[n·P + pos] = the patch's id (equal ids ⇔ equal keys of
 * input sids, −1 on padding, in (c, i, j) order; ids in order of first occurrence), rep[id] = its
 * first occurrence, zero[id] = 1 when every in-bounds entry is an exact zero. Two levels, both
 * exact: every (row of the padded input, output column)'s KW sids are interned first (a row of
 * one repeated sid, the constant background, through a cache by that sid), then a patch is the
 * key of its C·KH row ids (equal row-id keys ⇔ equal sid keys, row ids being exact themselves).
 */
export function convPatches(g: Graph, nd: ConvNode, inp: TState): Patches {
  const p = patchState(g, nd, inp);
  for (let n = 0; n < g.tensors[nd.input].shape[0]; n++) {
    rowsOf(p, n);
    patchesOf(p, n);
  }
  p.rowInt.release();
  p.patchInt.release();
  p.constRow.release();
  return { id: p.id, zero: p.zero, rep: p.rep };
}

/** The two interning levels of one conv layer while its samples are interned in turn. */
interface PatchState {
  readonly nd: ConvNode;
  readonly inp: TState;
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly P: number;
  /** Rows of the padded input that windows read. */
  readonly R: number;
  readonly rowInt: Interner;
  /** By row id: 1 when every in-bounds entry of the row is an exact zero. */
  rowZero: Uint8Array<ArrayBuffer>;
  /** Row id of the row [s, s, …, s], by s (−1: not interned yet). */
  readonly constRow: SidCache;
  /** Row ids of the current sample, by (c, r, output column). */
  readonly rows: Int32Array;
  readonly rowKey: Int32Array;
  readonly key: Int32Array;
  readonly patchInt: Interner;
  /** Patch id of the patch whose C·KH rows are all row r, by r (−1: not interned yet). */
  constPatch: Int32Array;
  readonly id: Int32Array;
  zero: Uint8Array<ArrayBuffer>;
  readonly rep: number[];
}

function patchState(g: Graph, nd: ConvNode, inp: TState): PatchState {
  const [N, C, H, W] = g.tensors[nd.input].shape;
  const { outH, outW, kernel, stride } = nd.win;
  const P = outH * outW;
  const R = (outH - 1) * stride[0] + kernel[0];
  const nRows = Math.min(N * C * R * outW, 1 << 16);
  const nPatches = Math.min(N * P, 1 << 16);
  return {
    nd,
    inp,
    C,
    H,
    W,
    P,
    R,
    rowInt: new Interner(kernel[1] * nRows, 32, nRows),
    rowZero: new Uint8Array(nRows),
    constRow: new SidCache(inp.sid),
    rows: new Int32Array(C * R * outW),
    rowKey: new Int32Array(kernel[1]),
    key: new Int32Array(C * kernel[0]),
    patchInt: new Interner(C * kernel[0] * nPatches, 32, nPatches),
    constPatch: new Int32Array(1024).fill(-1),
    id: new Int32Array(N * P),
    zero: new Uint8Array(nPatches),
    rep: [],
  };
}

/** Intern the rows (KW sids each) of sample n's padded input that windows read. */
function rowsOf(p: PatchState, n: number): void {
  const { C, H, W, R, rows, rowKey, constRow } = p;
  const { val, err, sid } = p.inp;
  const { outW, kernel, stride, padding } = p.nd.win;
  const KW = kernel[1];
  const [, sw] = stride;
  const [ph, pw] = padding;
  for (let ci = 0; ci < C; ci++) {
    const base = (n * C + ci) * H * W;
    for (let r = 0; r < R; r++) {
      const ih = r - ph;
      const inRow = ih >= 0 && ih < H;
      const rb = base + ih * W;
      for (let ow = 0; ow < outW; ow++) {
        const iw0 = ow * sw - pw;
        let rid: number;
        if (inRow && iw0 >= 0 && iw0 + KW <= W) {
          const s0 = sid[rb + iw0];
          let same = true;
          for (let j = 1; j < KW; j++) if (sid[rb + iw0 + j] !== s0) same = false;
          rid = same ? constRow.get(s0) : -1;
          if (rid < 0) {
            let z = 1;
            for (let j = 0; j < KW; j++) {
              const i = rb + iw0 + j;
              rowKey[j] = sid[i];
              if (val[i] !== 0 || err[i] !== 0) z = 0;
            }
            rid = newRow(p, z);
            if (same) constRow.set(s0, rid);
          }
        } else {
          let z = 1;
          for (let j = 0; j < KW; j++) {
            const iw = iw0 + j;
            if (!inRow || iw < 0 || iw >= W) rowKey[j] = -1;
            else {
              const i = rb + iw;
              rowKey[j] = sid[i];
              if (val[i] !== 0 || err[i] !== 0) z = 0;
            }
          }
          rid = newRow(p, z);
        }
        rows[(ci * R + r) * outW + ow] = rid;
      }
    }
  }
}

/** The id of the row in rowKey (new or not), recording whether it is all exact zeros when new. */
function newRow(p: PatchState, z: number): number {
  const rid = p.rowInt.intern(p.rowKey, p.rowKey.length);
  if (p.rowInt.fresh) {
    if (rid >= p.rowZero.length) p.rowZero = grown(p.rowZero);
    p.rowZero[rid] = z;
  }
  return rid;
}

/** Intern every patch of sample n as the key of its C·KH row ids (rowsOf(p, n) first). */
function patchesOf(p: PatchState, n: number): void {
  const { C, R, P, rows, key, rowZero } = p;
  const { outH, outW, kernel, stride } = p.nd.win;
  const KH = kernel[0];
  const sh = stride[0];
  for (let oh = 0; oh < outH; oh++) {
    for (let ow = 0; ow < outW; ow++) {
      let z = 1;
      const r0 = rows[oh * sh * outW + ow];
      let same = true;
      for (let ci = 0; ci < C; ci++) {
        for (let i = 0; i < KH; i++) {
          const rid = rows[(ci * R + oh * sh + i) * outW + ow];
          key[ci * KH + i] = rid;
          z &= rowZero[rid];
          if (rid !== r0) same = false;
        }
      }
      const pos = oh * outW + ow;
      // A patch of one repeated row (the constant background): its id through a cache by row id.
      if (same && r0 >= p.constPatch.length) p.constPatch = grownFilled(p.constPatch, r0);
      let pid = same ? p.constPatch[r0] : -1;
      if (pid < 0) {
        pid = p.patchInt.intern(key, key.length);
        if (p.patchInt.fresh) {
          if (pid >= p.zero.length) p.zero = grown(p.zero);
          p.zero[pid] = z;
          p.rep.push(n * P + pos);
        }
        if (same) p.constPatch[r0] = pid;
      }
      p.id[n * P + pos] = pid;
    }
  }
}
