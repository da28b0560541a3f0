/**
 * Exact interning of integer keys (filter stage (b) of exact.ts): equal keys get the same id,
 * different keys different ids. A 32-bit hash only finds candidates in an open-addressing table;
 * a hit is confirmed by comparing the stored key element by element, so a hash collision can
 * never merge two keys (the properties shrink the hash to a few bits to check exactly that).
 */
/**
 * Recycled Int32Arrays. exactRouting builds a few interners (and other integer scratch) per layer,
 * each dead when its layer is done: returning their arrays here instead of leaving them to the GC
 * keeps megabytes of short-lived external memory per call from driving collections. Lengths are
 * powers of two; a few arrays are kept per length.
 */
const pool = new Map<number, Int32Array[]>();
const POOL_PER_LENGTH = 4;

/** An Int32Array of length ≥ n (a power of two), from the pool when one is free; zero-filled when `zero`. */
export function takeInt32(n: number, zero: boolean): Int32Array {
  let len = 16;
  while (len < n) len *= 2;
  const a = pool.get(len)?.pop();
  if (!a) return new Int32Array(len);
  if (zero) a.fill(0);
  return a;
}

/** Give back an array from takeInt32 (the caller must not use it afterwards). */
export function recycleInt32(a: Int32Array): void {
  let l = pool.get(a.length);
  if (!l) {
    l = [];
    pool.set(a.length, l);
  }
  if (l.length < POOL_PER_LENGTH) l.push(a);
}

export class Interner {
  private store: Int32Array;
  private used = 0;
  private count = 0;
  /**
   * Open addressing, one 16-byte entry per slot (one cache line holds a whole probe step):
   * [full hash (quick reject), id + 1 (0 = empty), start of the key in `store`, its length].
   */
  private table: Int32Array;
  private mask: number;
  /** Last intern() call created a new id. */
  fresh = false;

  /**
   * @param capacityHint expected total key length
   * @param hashBits bits of hash kept (32; the properties shrink it to force collisions)
   * @param expectedKeys expected number of distinct keys (sizes the table; it grows past it)
   */
  constructor(
    capacityHint = 1024,
    private readonly hashBits = 32,
    expectedKeys = 64,
  ) {
    const keys = Math.max(64, expectedKeys);
    let slots = 128;
    while (slots < 2 * keys) slots *= 2;
    this.store = takeInt32(capacityHint, false);
    this.table = takeInt32(4 * slots, true);
    this.mask = slots - 1;
  }

  get size(): number {
    return this.count;
  }

  /** The id of key[0..len) (a new id, = size before the call, when the key is new). */
  intern(key: ArrayLike<number>, len = key.length): number {
    let h = 0x811c9dc5 ^ len;
    for (let i = 0; i < len; i++) {
      h = Math.imul(h ^ key[i], 0x01000193);
      h ^= h >>> 13;
    }
    h ^= h >>> 16;
    h = Math.imul(h, 0x7feb352d);
    h ^= h >>> 15;
    if (this.hashBits < 32) h &= (1 << this.hashBits) - 1;
    const mask = this.mask;
    const table = this.table;
    const store = this.store;
    let slot = h & mask;
    for (;;) {
      const e = slot << 2;
      const v = table[e + 1];
      if (v === 0) break;
      if (table[e] === h && table[e + 3] === len) {
        const s = table[e + 2];
        let i = 0;
        while (i < len && store[s + i] === key[i]) i++;
        if (i === len) {
          this.fresh = false;
          return v - 1;
        }
      }
      slot = (slot + 1) & mask;
    }
    if (this.used + len > store.length) {
      const next = takeInt32(Math.max(store.length * 2, this.used + len), false);
      next.set(store.subarray(0, this.used));
      recycleInt32(store);
      this.store = next;
    }
    const st = this.store;
    const start = this.used;
    for (let i = 0; i < len; i++) st[start + i] = key[i];
    this.used += len;
    const id = this.count++;
    const e = slot << 2;
    table[e] = h;
    table[e + 1] = id + 1;
    table[e + 2] = start;
    table[e + 3] = len;
    if (2 * this.count > mask) this.grow();
    this.fresh = true;
    return id;
  }

  private grow(): void {
    const size = (this.mask + 1) * 2;
    const table = takeInt32(4 * size, true);
    const mask = size - 1;
    const old = this.table;
    for (let e = 0; e < old.length; e += 4) {
      if (old[e + 1] === 0) continue;
      let t = old[e] & mask;
      while (table[(t << 2) + 1] !== 0) t = (t + 1) & mask;
      table.set(old.subarray(e, e + 4), t << 2);
    }
    recycleInt32(old);
    this.table = table;
    this.mask = mask;
  }

  /** Give the tables back to the pool: the interner must not be used afterwards. */
  release(): void {
    recycleInt32(this.table);
    recycleInt32(this.store);
    this.table = new Int32Array(4);
    this.store = new Int32Array(0);
    this.mask = 0;
  }
}
