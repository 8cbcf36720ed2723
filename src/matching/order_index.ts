/**
 * Order index: orderId → pool slot, for O(1) cancels.
 *
 * An open-addressing hash table (linear probing, backward-shift deletion) over one typed array of
 * (orderId, slot) pairs, so a lookup touches one cache line, sized once from `ordersOpenMax` at a
 * load factor of at most 1/2. Unlike a `Map`, it never
 * rehashes, never allocates after construction (order ids above 2^30 would be boxed as Map keys)
 * and its memory is fixed, which is what a statically allocated core wants.
 *
 * orderIds are command seqs: positive safe integers, so 0 can mark an empty bucket.
 */
import { InvariantError, assert } from '../domain/assert.ts';
import { NIL } from './price_tree.ts';

const EMPTY = 0;
const TWO_POW_32 = 4294967296;

export class OrderIndex {
  readonly capacity: number;
  /** Bucket b holds its orderId at [2b] (EMPTY when free) and its slot at [2b + 1]. */
  private readonly entries: Float64Array;
  private readonly mask: number;
  private count = 0;

  constructor(entriesMax: number) {
    assert(Number.isInteger(entriesMax) && entriesMax >= 1, 'OrderIndex: entriesMax must be a positive integer');
    let buckets = 2;
    while (buckets < entriesMax * 2) buckets *= 2;
    assert(buckets <= 2 ** 29, 'OrderIndex: too many entries for one table');
    this.capacity = entriesMax;
    this.entries = new Float64Array(buckets * 2);
    this.mask = buckets - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Spreads sequential ids over the table: both 32-bit halves, multiplicative mixing. */
  private bucketOf(orderId: number): number {
    const low = orderId >>> 0;
    const high = (orderId / TWO_POW_32) | 0;
    let hash = Math.imul(low ^ Math.imul(high, 0x85ebca6b), 0x9e3779b1);
    hash ^= hash >>> 15;
    return hash & this.mask;
  }

  /** The slot of an open order, NIL when the id is not open. */
  get(orderId: number): number {
    const entries = this.entries;
    const mask = this.mask;
    let bucket = this.bucketOf(orderId);
    for (;;) {
      const key = entries[bucket * 2]!;
      if (key === orderId) return entries[bucket * 2 + 1]!;
      if (key === EMPTY) return NIL;
      bucket = (bucket + 1) & mask;
    }
  }

  /** Adds an id that is not present. */
  insert(orderId: number, slot: number): void {
    if (!(orderId > 0)) throw new InvariantError('OrderIndex: orderId must be positive');
    if (this.count >= this.capacity) throw new InvariantError(`OrderIndex: more than ${this.capacity} entries (ordersOpenMax)`);
    const entries = this.entries;
    const mask = this.mask;
    let bucket = this.bucketOf(orderId);
    for (;;) {
      const key = entries[bucket * 2]!;
      if (key === EMPTY) break;
      if (key === orderId) throw new InvariantError(`OrderIndex: orderId ${orderId} is already open`);
      bucket = (bucket + 1) & mask;
    }
    entries[bucket * 2] = orderId;
    entries[bucket * 2 + 1] = slot;
    this.count += 1;
  }

  /** Removes an id that is present. */
  delete(orderId: number): void {
    const entries = this.entries;
    const mask = this.mask;
    let bucket = this.bucketOf(orderId);
    for (;;) {
      const key = entries[bucket * 2]!;
      if (key === orderId) break;
      if (key === EMPTY) throw new InvariantError('OrderIndex.delete: orderId is not in the index');
      bucket = (bucket + 1) & mask;
    }
    // Backward-shift deletion: pull later entries of the probe run into the hole, so that lookups
    // can keep stopping at the first empty bucket and no tombstones ever accumulate.
    let hole = bucket;
    let probe = (hole + 1) & mask;
    for (;;) {
      const key = entries[probe * 2]!;
      if (key === EMPTY) break;
      const home = this.bucketOf(key);
      // Move the entry if its home is not in the cyclic range (hole, probe].
      const distanceToProbe = (probe - home) & mask;
      const distanceToHole = (probe - hole) & mask;
      if (distanceToProbe >= distanceToHole) {
        entries[hole * 2] = key;
        entries[hole * 2 + 1] = entries[probe * 2 + 1]!;
        hole = probe;
      }
      probe = (probe + 1) & mask;
    }
    entries[hole * 2] = EMPTY;
    entries[hole * 2 + 1] = 0;
    this.count -= 1;
  }
}
