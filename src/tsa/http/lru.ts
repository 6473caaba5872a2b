// A bounded least-recently-used map with O(1) work per operation: a doubly-linked list over
// fixed slots (typed arrays) plus a Map from key to slot, which is only looked up, never walked.
// Evicting by iterating a Map from its head instead costs more with every client evicted: V8
// keeps deleted entries as holes that iteration skips until the next rehash (2.7 times the CPU
// per new client was measured past a 100,000-client cap).

const NONE = -1;

export class LruMap<V> {
  private readonly slots = new Map<string, number>();
  private readonly keys: (string | undefined)[];
  private readonly values: (V | undefined)[];
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  /** Most recently used slot, and least recently used. */
  private head = NONE;
  private tail = NONE;
  /** Slots never used yet are handed out in order; freed slots are chained through `next`. */
  private used = 0;
  private free = NONE;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError('the capacity must be a positive whole number');
    }
    this.keys = new Array<string | undefined>(capacity);
    this.values = new Array<V | undefined>(capacity);
    this.prev = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
  }

  get size(): number {
    return this.slots.size;
  }

  /** The value, marked as most recently used; undefined when absent. */
  get(key: string): V | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) return undefined;
    this.moveToHead(slot);
    return this.values[slot];
  }

  has(key: string): boolean {
    return this.slots.has(key);
  }

  /** Stores the value as most recently used; evicts the least recently used when full. */
  set(key: string, value: V): void {
    const existing = this.slots.get(key);
    if (existing !== undefined) {
      this.values[existing] = value;
      this.moveToHead(existing);
      return;
    }
    let slot: number;
    if (this.free !== NONE) {
      slot = this.free;
      this.free = this.next[slot]!;
    } else if (this.used < this.capacity) {
      slot = this.used++;
    } else {
      // Full: reuse the least recently used slot.
      slot = this.tail;
      this.unlink(slot);
      this.slots.delete(this.keys[slot]!);
    }
    this.keys[slot] = key;
    this.values[slot] = value;
    this.slots.set(key, slot);
    this.linkAtHead(slot);
  }

  delete(key: string): boolean {
    const slot = this.slots.get(key);
    if (slot === undefined) return false;
    this.unlink(slot);
    this.slots.delete(key);
    this.keys[slot] = undefined;
    this.values[slot] = undefined;
    this.next[slot] = this.free;
    this.free = slot;
    return true;
  }

  /** Keys from most to least recently used (for tests and diagnostics; O(n)). */
  keysByRecency(): string[] {
    const out: string[] = [];
    for (let s = this.head; s !== NONE; s = this.next[s]!) out.push(this.keys[s]!);
    return out;
  }

  private linkAtHead(slot: number): void {
    this.prev[slot] = NONE;
    this.next[slot] = this.head;
    if (this.head !== NONE) this.prev[this.head] = slot;
    this.head = slot;
    if (this.tail === NONE) this.tail = slot;
  }

  private unlink(slot: number): void {
    const p = this.prev[slot]!;
    const n = this.next[slot]!;
    if (p !== NONE) this.next[p] = n;
    else this.head = n;
    if (n !== NONE) this.prev[n] = p;
    else this.tail = p;
  }

  private moveToHead(slot: number): void {
    if (slot === this.head) return;
    this.unlink(slot);
    this.linkAtHead(slot);
  }
}
