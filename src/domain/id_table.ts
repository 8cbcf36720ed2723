/**
 * IdTable: positive integer id → 32-bit unsigned value, the core's replacement for `Map<number, number>`.
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
 * A dense list of the occupied buckets (swap-remove on delete) makes iteration O(size), not
 * O(capacity); its order is not meaningful: callers that export state sort what they collect.
 */
import { InvariantError, assert } from './assert.ts';

/** What `get` answers for an id that is not in the table. */
export const ABSENT = -1;

const EMPTY = 0;
const TWO_POW_32 = 4294967296;

export class IdTable {
  readonly capacity: number;
  /**
   * 16 bytes per bucket, in one cache line: bucket b holds its id as keys[2b] (f64, EMPTY when free),
   * and in the same 16 bytes its value as words[4b + 2] and its place in `bucketAt` as words[4b + 3] (u32).
   */
  private readonly keys: Float64Array;
  private readonly words: Uint32Array;
  /**
   * The occupied buckets, densely: bucketAt[0 .. count). Kept up to date when deletion shifts an
   * entry to another bucket, so that neither iteration nor the swap-remove of a delete has to probe.
   */
  private readonly bucketAt: Uint32Array;
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
    const buffer = new ArrayBuffer(buckets * 16);
    this.keys = new Float64Array(buffer);
    this.words = new Uint32Array(buffer);
    this.bucketAt = new Uint32Array(entriesMax);
    this.mask = buckets - 1;
  }

  get size(): number {
    return this.count;
  }

  /**
   * Spreads sequential ids over the table: both 32-bit halves, multiplicative mixing. (Keeping runs
   * of consecutive ids in consecutive buckets was tried: it makes long clusters, and a backward-shift
   * delete scans to the end of its cluster, so deletes cost more than the locality saved.)
   */
  private bucketOf(id: number): number {
    const low = id >>> 0;
    const high = (id / TWO_POW_32) | 0;
    let hash = Math.imul(low ^ Math.imul(high, 0x85ebca6b), 0x9e3779b1);
    hash ^= hash >>> 15;
    return hash & this.mask;
  }

  /** The bucket that holds `id`, or the empty bucket that ends its probe run (where it would go). */
  private probe(id: number): number {
    const keys = this.keys;
    const mask = this.mask;
    let bucket = this.bucketOf(id);
    for (;;) {
      const key = keys[bucket * 2]!;
      if (key === id || key === EMPTY) return bucket;
      bucket = (bucket + 1) & mask;
    }
  }

  /** The value of an id, ABSENT when the id is not in the table. */
  get(id: number): number {
    const bucket = this.probe(id);
    return this.keys[bucket * 2] === id ? this.words[bucket * 4 + 2]! : ABSENT;
  }

  has(id: number): boolean {
    return this.get(id) !== ABSENT;
  }

  /** Adds an id that is not present, with a value in [0, 2^32) (slots, indexes, account ids). */
  insert(id: number, value: number): void {
    if (!(id > 0)) throw new InvariantError(`IdTable(${this.name}): ids must be positive`);
    if (!(Number.isInteger(value) && value >= 0 && value <= 0xffffffff)) throw new InvariantError(`IdTable(${this.name}): values must be integers in [0, 2^32)`);
    if (this.count >= this.capacity) throw new InvariantError(`IdTable: more than ${this.capacity} entries (${this.name})`);
    const keys = this.keys;
    const words = this.words;
    const bucket = this.probe(id);
    if (keys[bucket * 2] === id) throw new InvariantError(`IdTable(${this.name}): id ${id} is already present`);
    keys[bucket * 2] = id;
    words[bucket * 4 + 2] = value;
    words[bucket * 4 + 3] = this.count;
    this.bucketAt[this.count] = bucket;
    this.count += 1;
  }

  /** Removes an id; false when it was not present (the table is unchanged then). */
  delete(id: number): boolean {
    const keys = this.keys;
    const words = this.words;
    const mask = this.mask;
    const bucket = this.probe(id);
    if (keys[bucket * 2] !== id) return false;
    // Swap-remove from the dense list: the last entry takes this entry's place.
    const bucketAt = this.bucketAt;
    const place = words[bucket * 4 + 3]!;
    const last = this.count - 1;
    if (place !== last) {
      const lastBucket = bucketAt[last]!;
      bucketAt[place] = lastBucket;
      words[lastBucket * 4 + 3] = place;
    }
    // Backward-shift deletion: pull later entries of the probe run into the hole, so that lookups
    // can keep stopping at the first empty bucket and no tombstones ever accumulate.
    let hole = bucket;
    let probe = (hole + 1) & mask;
    for (;;) {
      const key = keys[probe * 2]!;
      if (key === EMPTY) break;
      const home = this.bucketOf(key);
      // Move the entry if its home is not in the cyclic range (hole, probe].
      const distanceToProbe = (probe - home) & mask;
      const distanceToHole = (probe - hole) & mask;
      if (distanceToProbe >= distanceToHole) {
        const movedPlace = words[probe * 4 + 3]!;
        keys[hole * 2] = key;
        words[hole * 4 + 2] = words[probe * 4 + 2]!;
        words[hole * 4 + 3] = movedPlace;
        bucketAt[movedPlace] = hole;
        hole = probe;
      }
      probe = (probe + 1) & mask;
    }
    keys[hole * 2] = EMPTY;
    words[hole * 4 + 2] = 0;
    words[hole * 4 + 3] = 0;
    this.count -= 1;
    return true;
  }

  /** Visits every (id, value) present, in no meaningful order; O(size). Do not change the table meanwhile. */
  forEach(fn: (id: number, value: number) => void): void {
    for (let place = 0; place < this.count; place += 1) {
      const bucket = this.bucketAt[place]!;
      fn(this.keys[bucket * 2]!, this.words[bucket * 4 + 2]!);
    }
  }

  /** Every (id, value) pair, by ascending id. */
  sortedEntries(): [number, number][] {
    const pairs: [number, number][] = [];
    this.forEach((id, value) => pairs.push([id, value]));
    return pairs.sort((a, b) => a[0] - b[0]);
  }
}
