/**
 * Exact interning of integer keys (filter stage (b) of exact.ts): equal keys get the same id,
 * different keys different ids. A 32-bit hash only finds candidates in an open-addressing table;
 * a hit is confirmed by comparing the stored key element by element, so a hash collision can
 * never merge two keys (the properties shrink the hash to a few bits to check exactly that).
 */
export class Interner {
  private store: Int32Array;
  private used = 0;
  private starts: Int32Array;
  private lens: Int32Array;
  private count = 0;
  /** Open addressing: slot → id + 1 (0 = empty), and the slot's full hash for a quick reject. */
  private slots: Int32Array;
  private hashes: Int32Array;
  private mask: number;
  /** Last intern() call created a new id. */
  fresh = false;

  /**
   * @param capacityHint expected total key length
   * @param hashBits bits of hash kept (32; the properties shrink it to force collisions)
   */
  constructor(
    capacityHint = 1024,
    private readonly hashBits = 32,
  ) {
    this.store = new Int32Array(Math.max(16, capacityHint));
    this.starts = new Int32Array(64);
    this.lens = new Int32Array(64);
    this.slots = new Int32Array(128);
    this.hashes = new Int32Array(128);
    this.mask = 127;
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
    let slot = h & mask;
    for (;;) {
      const v = this.slots[slot];
      if (v === 0) break;
      if (this.hashes[slot] === h && this.equals(v - 1, key, len)) {
        this.fresh = false;
        return v - 1;
      }
      slot = (slot + 1) & mask;
    }
    const id = this.add(key, len);
    this.slots[slot] = id + 1;
    this.hashes[slot] = h;
    if (2 * this.count > mask) this.grow();
    this.fresh = true;
    return id;
  }

  private equals(id: number, key: ArrayLike<number>, len: number): boolean {
    if (this.lens[id] !== len) return false;
    const s = this.starts[id];
    const st = this.store;
    for (let i = 0; i < len; i++) if (st[s + i] !== key[i]) return false;
    return true;
  }

  private add(key: ArrayLike<number>, len: number): number {
    if (this.used + len > this.store.length) {
      const next = new Int32Array(Math.max(this.store.length * 2, this.used + len));
      next.set(this.store.subarray(0, this.used));
      this.store = next;
    }
    for (let i = 0; i < len; i++) this.store[this.used + i] = key[i];
    if (this.count === this.starts.length) {
      const s = new Int32Array(this.count * 2);
      s.set(this.starts);
      this.starts = s;
      const l = new Int32Array(this.count * 2);
      l.set(this.lens);
      this.lens = l;
    }
    this.starts[this.count] = this.used;
    this.lens[this.count] = len;
    this.used += len;
    return this.count++;
  }

  private grow(): void {
    const size = (this.mask + 1) * 2;
    const slots = new Int32Array(size);
    const hashes = new Int32Array(size);
    const mask = size - 1;
    for (let s = 0; s <= this.mask; s++) {
      const v = this.slots[s];
      if (v === 0) continue;
      let t = this.hashes[s] & mask;
      while (slots[t] !== 0) t = (t + 1) & mask;
      slots[t] = v;
      hashes[t] = this.hashes[s];
    }
    this.slots = slots;
    this.hashes = hashes;
    this.mask = mask;
  }
}
