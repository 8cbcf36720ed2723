/**
 * IdTable: positive integer id → non-negative number, the core's replacement for `Map<number, number>`.
 *
 * Used for orderId → book slot (matching), orderId → owner (sequencer), orderId → reservation slot
 * (settlement) and accountId → account index (sequencer, settlement). An open-addressing hash
 * table (linear probing, backward-shift deletion) over one typed array of (id, value) pairs, so a
 * lookup touches one cache line, sized once from its limit at a load factor of at most 1/2. Unlike
 * a `Map`, it never rehashes, never allocates after construction (a Map grows and shrinks its
 * backing store as orders come and go, and boxes ids above 2^30) and its memory is fixed, which is
 * what a statically allocated core wants.
 *
 * Ids are command seqs or account ids: positive safe integers, so 0 can mark an empty bucket.
 * A dense list of the ids present (swap-remove on delete) makes iteration O(size), not O(capacity);
 * its order is not meaningful: callers that export state sort what they collect.
 */
import { InvariantError, assert } from './assert.ts';

/** What `get` answers for an id that is not in the table. */
export const ABSENT = -1;

const EMPTY = 0;
const TWO_POW_32 = 4294967296;

export class IdTable {
  readonly capacity: number;
  /** Bucket b holds its id at [3b] (EMPTY when free), its value at [3b + 1], its place in `ids` at [3b + 2]. */
  private readonly entries: Float64Array;
  /** The ids present, densely: ids[0 .. count). */
  private readonly ids: Float64Array;
  private readonly mask: number;
  private count = 0;

  /** `name` appears in the errors: "more than N entries (name)". */
  constructor(
    entriesMax: number,
    private readonly name = 'entries',
  ) {
    assert(Number.isInteger(entriesMax) && entriesMax >= 1, 'IdTable: entriesMax must be a positive integer');
    let buckets = 2;
    while (buckets < entriesMax * 2) buckets *= 2;
    assert(buckets <= 2 ** 29, 'IdTable: too many entries for one table');
    this.capacity = entriesMax;
    this.entries = new Float64Array(buckets * 3);
    this.ids = new Float64Array(entriesMax);
    this.mask = buckets - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Spreads sequential ids over the table: both 32-bit halves, multiplicative mixing. */
  private bucketOf(id: number): number {
    const low = id >>> 0;
    const high = (id / TWO_POW_32) | 0;
    let hash = Math.imul(low ^ Math.imul(high, 0x85ebca6b), 0x9e3779b1);
    hash ^= hash >>> 15;
    return hash & this.mask;
  }

  /** The value of an id, ABSENT when the id is not in the table. */
  get(id: number): number {
    const entries = this.entries;
    const mask = this.mask;
    let bucket = this.bucketOf(id);
    for (;;) {
      const key = entries[bucket * 3]!;
      if (key === id) return entries[bucket * 3 + 1]!;
      if (key === EMPTY) return ABSENT;
      bucket = (bucket + 1) & mask;
    }
  }

  /** The bucket holding a present id. */
  private bucketHolding(id: number): number {
    const entries = this.entries;
    const mask = this.mask;
    let bucket = this.bucketOf(id);
    while (entries[bucket * 3] !== id) {
      if (entries[bucket * 3] === EMPTY) throw new InvariantError(`IdTable(${this.name}): id ${id} lost`);
      bucket = (bucket + 1) & mask;
    }
    return bucket;
  }

  has(id: number): boolean {
    return this.get(id) !== ABSENT;
  }

  /** Adds an id that is not present, with a non-negative value. */
  insert(id: number, value: number): void {
    if (!(id > 0)) throw new InvariantError(`IdTable(${this.name}): ids must be positive`);
    if (!(value >= 0)) throw new InvariantError(`IdTable(${this.name}): values must not be negative`);
    if (this.count >= this.capacity) throw new InvariantError(`IdTable: more than ${this.capacity} entries (${this.name})`);
    const entries = this.entries;
    const mask = this.mask;
    let bucket = this.bucketOf(id);
    for (;;) {
      const key = entries[bucket * 3]!;
      if (key === EMPTY) break;
      if (key === id) throw new InvariantError(`IdTable(${this.name}): id ${id} is already present`);
      bucket = (bucket + 1) & mask;
    }
    entries[bucket * 3] = id;
    entries[bucket * 3 + 1] = value;
    entries[bucket * 3 + 2] = this.count;
    this.ids[this.count] = id;
    this.count += 1;
  }

  /** Removes an id; false when it was not present (the table is unchanged then). */
  delete(id: number): boolean {
    const entries = this.entries;
    const mask = this.mask;
    let bucket = this.bucketOf(id);
    for (;;) {
      const key = entries[bucket * 3]!;
      if (key === id) break;
      if (key === EMPTY) return false;
      bucket = (bucket + 1) & mask;
    }
    // Swap-remove from the dense list: the last id takes this id's place.
    const place = entries[bucket * 3 + 2]!;
    const last = this.count - 1;
    if (place !== last) {
      const lastId = this.ids[last]!;
      this.ids[place] = lastId;
      entries[this.bucketHolding(lastId) * 3 + 2] = place;
    }
    // Backward-shift deletion: pull later entries of the probe run into the hole, so that lookups
    // can keep stopping at the first empty bucket and no tombstones ever accumulate.
    let hole = bucket;
    let probe = (hole + 1) & mask;
    for (;;) {
      const key = entries[probe * 3]!;
      if (key === EMPTY) break;
      const home = this.bucketOf(key);
      // Move the entry if its home is not in the cyclic range (hole, probe].
      const distanceToProbe = (probe - home) & mask;
      const distanceToHole = (probe - hole) & mask;
      if (distanceToProbe >= distanceToHole) {
        entries[hole * 3] = key;
        entries[hole * 3 + 1] = entries[probe * 3 + 1]!;
        entries[hole * 3 + 2] = entries[probe * 3 + 2]!;
        hole = probe;
      }
      probe = (probe + 1) & mask;
    }
    entries[hole * 3] = EMPTY;
    entries[hole * 3 + 1] = 0;
    entries[hole * 3 + 2] = 0;
    this.count -= 1;
    return true;
  }

  /** Visits every (id, value) present, in no meaningful order; O(size). Do not change the table meanwhile. */
  forEach(fn: (id: number, value: number) => void): void {
    for (let place = 0; place < this.count; place += 1) {
      const id = this.ids[place]!;
      fn(id, this.entries[this.bucketHolding(id) * 3 + 1]!);
    }
  }

  /** Every (id, value) pair, by ascending id. */
  sortedEntries(): [number, number][] {
    const pairs: [number, number][] = [];
    this.forEach((id, value) => pairs.push([id, value]));
    return pairs.sort((a, b) => a[0] - b[0]);
  }
}
