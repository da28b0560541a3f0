// @ts-nocheck — AssemblyScript, compiled into kernels.wasm through kernels.as.ts; tsc skips it.
/**
 * The blocked matrix product every conv2d and linear kernel runs on (kernels.as.ts lays the
 * operands out as its A and B):
 *
 *   C[m][q] = Σ_k A[m][k] · B[k][q],   k ascending, each output its own left-to-right sum from +0
 *
 * Register blocking: a micro-kernel keeps a tile of 4 rows × 2 vectors of C in registers (4 × 8
 * binary32 outputs, or 4 × 4 binary64) and adds one term per k to each: two vectors of B, and each
 * of the 4 values of A splatted. Cache blocking: B is packed a panel of QB columns and KB terms at a
 * time (Bp: tiles of NR columns, [tile][k][NR]), A once per call in tiles of 4 rows ([tile][k][4]);
 * the partial sums of a panel wait in Cacc between blocks of terms, stored exactly (binary32 or
 * binary64 lanes), so splitting the terms into blocks changes nothing: every output still sees its
 * terms in ascending k, one rounding per operation, as the JS loops do.
 *
 * Arithmetic kinds (the marker type T of the micro-kernel):
 *   0  f64: binary64 lanes, s + a·b in double: binary64 (both modes) and binary32 `wide`
 *   1  f32: binary32 lanes, fl32(s + fl32(a·b)): binary32 `strict`, binary16 and bfloat16 `wide`
 *   2  i32: binary16 `strict`: binary32 lanes, every product and sum rounded to binary16 (r16v)
 *   3  u32: the same without the overflow step, when max|a|·max|b| ≤ 4 (kernels.as.ts `pick`)
 *   4  i64: bfloat16 `strict`: binary32 lanes, every product and sum rounded to bfloat16 (rbf16v)
 * A product of two binary16 (bfloat16) values is exact in binary32, and a binary32-rounded sum of
 * two of them rounded again to binary16 (bfloat16) is the correctly rounded sum (24 ≥ 2p + 2).
 */
import { r16full, r16sum, r16v, rbf16v } from './round.as';

/** Rows of a register tile, and columns of B per k in a tile (two vectors: 8 binary32, 4 binary64). */
export const MR = 4;
/** Columns of a packed panel of B (a multiple of both tile widths) and terms per block. */
export const QB = 256;
export const KB = 256;

/** One term: s + a·b in the kind's arithmetic. */
// @ts-ignore
@inline function step<T>(s: v128, a: v128, b: v128): v128 {
  if (isFloat<T>()) {
    if (sizeof<T>() == 8) return f64x2.add(s, f64x2.mul(a, b));
    return f32x4.add(s, f32x4.mul(a, b));
  }
  if (sizeof<T>() == 8) return rbf16v(f32x4.add(s, rbf16v(f32x4.mul(a, b))));
  if (isSigned<T>()) return r16v(f32x4.add(s, r16v(f32x4.mul(a, b), true)), true);
  return r16sum(f32x4.add(s, r16v(f32x4.mul(a, b), false)));
}

/**
 * The micro-kernel on binary32 lanes: C tile (4 rows × 8, row stride ldc bytes, at pc) += kb terms,
 * A at pa (4 values a term), B at pb (8 values a term).
 */
// @ts-ignore
@inline function mk32<T>(pa: usize, pb: usize, pc: usize, ldc: usize, kb: i32): void {
  let c00 = v128.load(pc), c01 = v128.load(pc, 16);
  let c10 = v128.load(pc + ldc), c11 = v128.load(pc + ldc, 16);
  let c20 = v128.load(pc + 2 * ldc), c21 = v128.load(pc + 2 * ldc, 16);
  let c30 = v128.load(pc + 3 * ldc), c31 = v128.load(pc + 3 * ldc, 16);
  for (let k = 0; k < kb; k++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    const a0 = v128.load32_splat(pa);
    c00 = step<T>(c00, a0, b0);
    c01 = step<T>(c01, a0, b1);
    const a1 = v128.load32_splat(pa, 4);
    c10 = step<T>(c10, a1, b0);
    c11 = step<T>(c11, a1, b1);
    const a2 = v128.load32_splat(pa, 8);
    c20 = step<T>(c20, a2, b0);
    c21 = step<T>(c21, a2, b1);
    const a3 = v128.load32_splat(pa, 12);
    c30 = step<T>(c30, a3, b0);
    c31 = step<T>(c31, a3, b1);
    pa += 16;
    pb += 32;
  }
  v128.store(pc, c00);
  v128.store(pc, c01, 16);
  v128.store(pc + ldc, c10);
  v128.store(pc + ldc, c11, 16);
  v128.store(pc + 2 * ldc, c20);
  v128.store(pc + 2 * ldc, c21, 16);
  v128.store(pc + 3 * ldc, c30);
  v128.store(pc + 3 * ldc, c31, 16);
}

/** The micro-kernel on binary64 lanes: 4 rows × 4 (two f64x2 a row); A 4 values a term, B 4 values a term. */
// @ts-ignore
@inline function mk64(pa: usize, pb: usize, pc: usize, ldc: usize, kb: i32): void {
  let c00 = v128.load(pc), c01 = v128.load(pc, 16);
  let c10 = v128.load(pc + ldc), c11 = v128.load(pc + ldc, 16);
  let c20 = v128.load(pc + 2 * ldc), c21 = v128.load(pc + 2 * ldc, 16);
  let c30 = v128.load(pc + 3 * ldc), c31 = v128.load(pc + 3 * ldc, 16);
  for (let k = 0; k < kb; k++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    const a0 = v128.load64_splat(pa);
    c00 = f64x2.add(c00, f64x2.mul(a0, b0));
    c01 = f64x2.add(c01, f64x2.mul(a0, b1));
    const a1 = v128.load64_splat(pa, 8);
    c10 = f64x2.add(c10, f64x2.mul(a1, b0));
    c11 = f64x2.add(c11, f64x2.mul(a1, b1));
    const a2 = v128.load64_splat(pa, 16);
    c20 = f64x2.add(c20, f64x2.mul(a2, b0));
    c21 = f64x2.add(c21, f64x2.mul(a2, b1));
    const a3 = v128.load64_splat(pa, 24);
    c30 = f64x2.add(c30, f64x2.mul(a3, b0));
    c31 = f64x2.add(c31, f64x2.mul(a3, b1));
    pa += 32;
    pb += 32;
  }
  v128.store(pc, c00);
  v128.store(pc, c01, 16);
  v128.store(pc + ldc, c10);
  v128.store(pc + ldc, c11, 16);
  v128.store(pc + 2 * ldc, c20);
  v128.store(pc + 2 * ldc, c21, 16);
  v128.store(pc + 3 * ldc, c30);
  v128.store(pc + 3 * ldc, c31, 16);
}

function blockT<T>(Ap: usize, lda: usize, mtiles: i32, Bp: usize, ldb: usize, qtiles: i32, Cacc: usize, ldc: usize, kb: i32): void {
  for (let qt = 0; qt < qtiles; qt++) {
    const pb = Bp + <usize>qt * ldb;
    for (let mt = 0; mt < mtiles; mt++) mk32<T>(Ap + <usize>mt * lda, pb, Cacc + <usize>mt * 4 * ldc + <usize>qt * 32, ldc, kb);
  }
}

function block64(Ap: usize, lda: usize, mtiles: i32, Bp: usize, ldb: usize, qtiles: i32, Cacc: usize, ldc: usize, kb: i32): void {
  for (let qt = 0; qt < qtiles; qt++) {
    const pb = Bp + <usize>qt * ldb;
    for (let mt = 0; mt < mtiles; mt++) mk64(Ap + <usize>mt * lda, pb, Cacc + <usize>mt * 4 * ldc + <usize>qt * 32, ldc, kb);
  }
}

/**
 * kb terms of every tile: A tiles from Ap (tile stride lda bytes, already at the block's first
 * term), B tiles from Bp (tile stride ldb = kb·32 bytes), C tiles in Cacc (row stride ldc).
 */
export function gemmBlock(kind: i32, Ap: usize, lda: usize, mtiles: i32, Bp: usize, qtiles: i32, Cacc: usize, ldc: usize, kb: i32): void {
  const ldb = <usize>kb * 32;
  if (kind == 0) block64(Ap, lda, mtiles, Bp, ldb, qtiles, Cacc, ldc, kb);
  else if (kind == 1) blockT<f32>(Ap, lda, mtiles, Bp, ldb, qtiles, Cacc, ldc, kb);
  else if (kind == 2) blockT<i32>(Ap, lda, mtiles, Bp, ldb, qtiles, Cacc, ldc, kb);
  else if (kind == 3) blockT<u32>(Ap, lda, mtiles, Bp, ldb, qtiles, Cacc, ldc, kb);
  else blockT<i64>(Ap, lda, mtiles, Bp, ldb, qtiles, Cacc, ldc, kb);
}
