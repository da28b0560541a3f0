/**
 * The kernels' memory as the engine's device: a Tape with kernels keeps the values and gradients of
 * its tensors there, so that one kernel's output is the next one's input without a copy, and JS
 * sees them only when it asks (Tensor.data, Tensor.grad download them once).
 *
 * Storage: values of the tape's format p, as binary32 (E = 4) for every format of ≤ 32 bits —
 * binary32 holds each of their values exactly — or binary64 (E = 8) for p = binary64.
 *
 * Allocation: each Tape owns an Arena, a list of chunks taken from one process-wide pool and
 * bump-allocated; Tape.release() (or, for a tape nobody released, its garbage collection) gives
 * the chunks back, and the next tape reuses them, already paged in. The memory never shrinks
 * (WebAssembly cannot); chunks above `heap.top` do not exist, so the GEMM drivers lay their scratch
 * out from there. Only the tape's own tensors hold addresses into its arena, and a released arena
 * refuses every further use, so no stale address is ever read.
 */
import type { Arith } from '../arith.ts';
import { heap, type KernelMode, kernelMode, loadModule, MAX_PAGES, type RawKernels } from './index.ts';

/** Round kinds of the kernels (round.as.ts): 0 none (binary64), 1 binary32, 2 binary16, 3 bfloat16. */
export type RoundKind = 0 | 1 | 2 | 3;

const ROUND_KIND: Readonly<Record<string, RoundKind>> = { '64': 0, '32': 1, '16': 2, bf16: 3 };

/** Thrown when the kernels' memory cannot hold an allocation (the op then runs on the JS path). */
export class DeviceFull extends Error {}

interface Chunk {
  readonly ptr: number;
  readonly size: number;
}

const MB = 1 << 20;
const HALF = (MAX_PAGES * 65536) / 2;
const align64 = (n: number) => Math.ceil(n / 64) * 64;

/** Views of the whole memory, remade when it has grown (views of a shared memory never detach). */
export interface Views {
  readonly u8: Uint8Array;
  readonly i8: Int8Array;
  readonly i32: Int32Array;
  readonly f32: Float32Array;
  readonly f64: Float64Array;
}

let views: Views | null = null;

export function memViews(memory: WebAssembly.Memory): Views {
  const buf = memory.buffer;
  if (views && views.u8.byteLength === buf.byteLength) return views;
  views = {
    u8: new Uint8Array(buf),
    i8: new Int8Array(buf),
    i32: new Int32Array(buf),
    f32: new Float32Array(buf),
    f64: new Float64Array(buf),
  };
  return views;
}

/** The process-wide pool of chunks: free ones (best fit), else new ones at the top of memory. */
const pool = {
  free: [] as Chunk[],
  take(memory: WebAssembly.Memory, bytes: number): Chunk {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const c = this.free[i];
      if (c.size >= bytes && (best < 0 || c.size < this.free[best].size)) best = i;
    }
    if (best >= 0) return this.free.splice(best, 1)[0];
    const ptr = align64(heap.top);
    const end = ptr + bytes;
    if (end > MAX_PAGES * 65536 - 16 * MB) throw new DeviceFull(`kernel memory full (${(end / MB).toFixed(0)} MiB asked)`);
    const have = memory.buffer.byteLength;
    if (end > have) memory.grow(Math.ceil((end - have) / 65536));
    heap.top = end;
    return { ptr, size: bytes };
  },
  give(chunks: readonly Chunk[]): void {
    this.free.push(...chunks);
  },
};

/** A block that is never given back (the threads' control block). */
export function permanentBlock(bytes: number): number {
  const m = loadModule();
  if (!m) throw new Error('internal: no kernels module');
  return pool.take(m.memory, align64(bytes)).ptr;
}

/** Bytes in use by arenas and free in the pool (for tests and diagnostics). */
export function poolStats(): { readonly top: number; readonly freeChunks: number; readonly freeBytes: number } {
  return { top: heap.top, freeChunks: pool.free.length, freeBytes: pool.free.reduce((s, c) => s + c.size, 0) };
}

let poison = false;

/**
 * Fill memory given back with 0x41 bytes (12.078… as binary32, 2.26…e6 as binary64): a kernel that
 * leaves an output unwritten then shows it, instead of the same values a previous tape left at the
 * same address. For tests; off by default.
 */
export function setPoisonOnRelease(on: boolean): void {
  poison = on;
}

/** A tape's allocations: bump-allocated in chunks of the pool, all given back at once. */
export class Arena {
  private readonly chunks: Chunk[] = [];
  private at = 0;
  private end = 0;
  private released = false;

  constructor(private readonly memory: WebAssembly.Memory) {}

  /** A 64-byte aligned block of `bytes` (contents undefined). */
  alloc(bytes: number): number {
    if (this.released) throw new Error('internal: allocation from a released tape');
    const size = align64(Math.max(bytes, 1));
    if (this.at + size > this.end) {
      // Chunks grow with the arena (64 KiB, 128 KiB, … up to 16 MiB), or fit one big block.
      const next = Math.max(size, Math.min(16 * MB, 65536 << this.chunks.length));
      const c = pool.take(this.memory, next);
      this.chunks.push(c);
      this.at = c.ptr;
      this.end = c.ptr + c.size;
    }
    const p = this.at;
    this.at += size;
    return p;
  }

  get isReleased(): boolean {
    return this.released;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    if (poison) for (const c of this.chunks) memViews(this.memory).u8.fill(0x41, c.ptr, c.ptr + c.size);
    pool.give(this.chunks);
    this.chunks.length = 0;
  }
}

/** An arena whose tape was never released goes back to the pool when the tape is collected. */
const reclaim = new FinalizationRegistry<Arena>((arena) => arena.release());

/** What a tape computes its ops with on the device. */
export interface DeviceCtx {
  readonly raw: RawKernels;
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly arena: Arena;
  /** Bytes per stored value: 4 (binary32 storage) or 8 (binary64). */
  readonly E: 4 | 8;
  /** The round kind of p and of the accumulator (round.as.ts numbering). */
  readonly rk: RoundKind;
  readonly ak: RoundKind;
  /** The conv2d/linear kernels' mode, or null: those ops run on the JS path for this format. */
  readonly gemm: KernelMode | null;
}

/** The device context for a new tape computing with `ar`, or null (JS path; see index.ts). */
export function deviceFor(ar: Arith, owner: object): DeviceCtx | null {
  if (ar.checked || process.env.ADZONE_KERNELS === 'js') return null;
  // Tapes nobody released wait for the garbage collector: past half the memory, new tapes use the
  // JS path rather than let a loop of them fill it (a released tape's chunks are reused first).
  if (heap.top > HALF && pool.free.length === 0) return null;
  const rk = ROUND_KIND[ar.format.name];
  if (rk === undefined) return null;
  const m = loadModule();
  if (!m) return null;
  const ak: RoundKind = ar.accumulate === 'strict' ? rk : ar.format.bits <= 16 ? 1 : 0;
  const arena = new Arena(m.memory);
  reclaim.register(owner, arena);
  return { raw: m.raw, module: m.module, memory: m.memory, arena, E: rk === 0 ? 8 : 4, rk, ak, gemm: kernelMode(ar) };
}

/** n values at `ptr` as doubles (a copy). */
export function download(d: DeviceCtx, ptr: number, n: number): Float64Array {
  if (d.arena.isReleased) throw new Error('tensor values were released with their tape (Tape.release): read them before');
  const v = memViews(d.memory);
  const out = new Float64Array(n);
  out.set(d.E === 4 ? v.f32.subarray(ptr >> 2, (ptr >> 2) + n) : v.f64.subarray(ptr >> 3, (ptr >> 3) + n));
  return out;
}

/** Copy values of p (doubles) to a new block of the tape's arena; its address. */
export function upload(d: DeviceCtx, values: Float64Array): number {
  const p = d.arena.alloc(values.length * d.E);
  const v = memViews(d.memory);
  if (d.E === 4) v.f32.set(values, p >> 2);
  else v.f64.set(values, p >> 3);
  return p;
}

/** Copy n stored values from `src` to a new block; its address. */
export function copyDev(d: DeviceCtx, src: number, n: number): number {
  const p = d.arena.alloc(n * d.E);
  const v = memViews(d.memory);
  v.u8.copyWithin(p, src, src + n * d.E);
  return p;
}

/** Int32 values to a new block; its address. */
export function uploadI32(d: DeviceCtx, values: Int32Array): number {
  const p = d.arena.alloc(values.length * 4);
  memViews(d.memory).i32.set(values, p >> 2);
  return p;
}

/** Doubles (whatever E is) to a new block; its address. */
export function uploadF64(d: DeviceCtx, values: Float64Array): number {
  const p = d.arena.alloc(values.length * 8);
  memViews(d.memory).f64.set(values, p >> 3);
  return p;
}

/** Where a GEMM driver may lay out its scratch: above every chunk (it grows the memory itself). */
export function scratchBase(): number {
  return Math.ceil(heap.top / 16) * 16;
}
