/**
 * IdTable: positive integer id → 32-bit unsigned value, the core's replacement for `Map<number, number>`.
 *
 * Used for orderId → book slot (matching), orderId → owner (sequencer), orderId → reservation slot
 * (settlement) and accountId → account index (sequencer, settlement). An open-addressing hash
 * table over one typed array of (id, value) pairs, so a lookup touches one cache line, sized once
 * from its limit at a load factor of at most 1/2. Unlike a `Map`, it never rehashes, never
 * allocates after construction (a Map grows and shrinks its backing store as orders come and go,
 * and boxes ids above 2^30) and its memory is fixed, which is what a statically allocated core wants.
 *
 * Robin Hood linear probing: along a probe run the entries stay ordered by their home bucket, so a
 * lookup stops as soon as it meets an entry closer to its home than the id would be, and a delete
 * shifts the run back only until an entry that sits at its home (no tombstones, no scan to the end
 * of a long run).
 *
 * Two ways to pick the home bucket (`IdKeys`):
 * - 'sequential' for order ids, which are command seqs: the id's low bits. The orders alive at any
 *   moment are mostly recent seqs, so they sit in one compact region of the table instead of being
 *   spread over tens of MB: the lookups of a command stay in cache and in the TLB. Ids only share a
 *   home when they differ by a multiple of the bucket count (an order that stays open while ~2×
 *   ordersOpenMax newer seqs pass), which costs a probe or two.
 * - 'scattered' for ids chosen outside (account ids): an id below the bucket count is its own home
 *   (so no two of them ever share one, whatever their pattern, and a thousand accounts numbered
 *   from 1 sit in 16 KB instead of on a thousand pages of a 32 MB table); a larger id is mixed
 *   (multiplicative hashing of both 32-bit halves), so no pattern of them piles up in one run.
 *
 * Ids are positive safe integers, so 0 can mark an empty bucket. Iteration order is not
 * meaningful: callers that export state sort what they collect. By default a dense list of the
 * occupied buckets (swap-remove on delete) makes iteration O(size), not O(capacity). Order tables
 * are iterated only to export or check state (snapshots, start-up, tests), while their entries come
 * and go with every order: there the list would cost a random write on each insert, delete and
 * shift, so they iterate by scanning the buckets instead ('bucket-scan').
 */
import { InvariantError, assert } from './assert.ts';

/** What `get` answers for an id that is not in the table. */
export const ABSENT = -1;

const EMPTY = 0;
const TWO_POW_32 = 4294967296;

/** How an IdTable picks an id's home bucket: see the module comment. */
export type IdKeys = 'sequential' | 'scattered';

/** How an IdTable is iterated: see the module comment. */
export type IdIteration = 'dense-list' | 'bucket-scan';

export class IdTable {
  readonly capacity: number;
  /**
   * 16 bytes per bucket, in one cache line: bucket b holds its id as keys[2b] (f64, EMPTY when free),
   * and in the same 16 bytes its value as words[4b + 2] and its place in `bucketAt` as words[4b + 3] (u32).
   */
  private readonly keys: Float64Array;
  private readonly words: Uint32Array;
  /**
   * The occupied buckets, densely: bucketAt[0 .. count). Kept up to date whenever an entry moves to
   * another bucket, so that neither iteration nor the swap-remove of a delete has to probe.
   */
  private readonly bucketAt: Uint32Array;
  /** False for 'bucket-scan': `bucketAt` is empty and never written. */
  private readonly listed: boolean;
  private readonly mask: number;
  private readonly sequential: boolean;
  private count = 0;

  /** `name` appears in the errors: "more than N entries (name)". */
  constructor(
    entriesMax: number,
    private readonly name = 'entries',
    idKeys: IdKeys = 'scattered',
    iteration: IdIteration = 'dense-list',
  ) {
    assert(Number.isInteger(entriesMax) && entriesMax >= 1, 'IdTable: entriesMax must be a positive integer');
    let buckets = 2;
    while (buckets < entriesMax * 2) buckets *= 2;
    assert(buckets <= 2 ** 29, 'IdTable: too many entries for one table');
    this.capacity = entriesMax;
    const buffer = new ArrayBuffer(buckets * 16);
    this.keys = new Float64Array(buffer);
    this.words = new Uint32Array(buffer);
    this.listed = iteration === 'dense-list';
    this.bucketAt = new Uint32Array(this.listed ? entriesMax : 0);
    this.mask = buckets - 1;
    this.sequential = idKeys === 'sequential';
  }

  get size(): number {
    return this.count;
  }

  /** The home bucket of an id (`id & mask` takes the low bits of any safe integer exactly). */
  private homeOf(id: number): number {
    if (this.sequential || id <= this.mask) return id & this.mask;
    const low = id >>> 0;
    const high = (id / TWO_POW_32) | 0;
    let hash = Math.imul(low ^ Math.imul(high, 0x85ebca6b), 0x9e3779b1);
    hash ^= hash >>> 15;
    return hash & this.mask;
  }

  /**
   * The bucket that holds `id`, or -1: for a caller that reads the value now and removes the entry
   * later (`valueAt`, `removeAt`) with one probe instead of two. Valid until the table next changes.
   */
  find(id: number): number {
    // 0 marks an empty bucket, so it would "match" one: no id that cannot be inserted is ever found.
    if (!(id > 0)) return -1;
    const keys = this.keys;
    const mask = this.mask;
    let bucket = this.homeOf(id);
    for (let distance = 0; ; distance += 1) {
      const key = keys[bucket * 2]!;
      if (key === id) return bucket;
      // Robin Hood order: past an empty bucket or an entry nearer its home, the id cannot be.
      if (key === EMPTY || ((bucket - this.homeOf(key)) & mask) < distance) return -1;
      bucket = (bucket + 1) & mask;
    }
  }

  /**
   * `find` with a hint: the bucket the caller saw `id` in earlier (`find` or `insert` returned it).
   * When the hint still holds the id it is the answer, with no probe; when the table has moved the
   * entry since (any change may), this is just `find`. A wrong or stale hint is never trusted:
   * ids are unique in the table, so a bucket that holds `id` is its bucket.
   */
  findHinted(id: number, hintBucket: number): number {
    if (id > 0 && hintBucket >= 0 && hintBucket <= this.mask && this.keys[hintBucket * 2] === id) return hintBucket;
    return this.find(id);
  }

  /** The value of an id, ABSENT when the id is not in the table. */
  get(id: number): number {
    const bucket = this.find(id);
    return bucket < 0 ? ABSENT : this.words[bucket * 4 + 2]!;
  }

  has(id: number): boolean {
    return this.find(id) >= 0;
  }

  /**
   * Adds an id that is not present, with a value in [0, 2^32) (slots, indexes, account ids).
   * Returns the bucket the id landed in (a hint for `findHinted`, valid until the table next changes).
   */
  insert(id: number, value: number): number {
    if (!(id > 0)) throw new InvariantError(`IdTable(${this.name}): ids must be positive`);
    if (!(Number.isInteger(value) && value >= 0 && value <= 0xffffffff)) throw new InvariantError(`IdTable(${this.name}): values must be integers in [0, 2^32)`);
    if (this.count >= this.capacity) throw new InvariantError(`IdTable: more than ${this.capacity} entries (${this.name})`);
    const keys = this.keys;
    const words = this.words;
    const bucketAt = this.bucketAt;
    const mask = this.mask;
    // The entry being placed: first the new one, then whichever it displaces (Robin Hood).
    let carriedId = id;
    let carriedValue = value;
    let carriedPlace = this.count;
    let bucket = this.homeOf(id);
    let distance = 0;
    let displaced = false;
    let landed = -1;
    for (;;) {
      const key = keys[bucket * 2]!;
      if (key === EMPTY) break;
      // Until the first displacement the run is searched for `id` too (past it, `id` cannot be).
      if (!displaced && key === id) throw new InvariantError(`IdTable(${this.name}): id ${id} is already present`);
      const keyDistance = (bucket - this.homeOf(key)) & mask;
      if (keyDistance < distance) {
        const keyValue = words[bucket * 4 + 2]!;
        const keyPlace = words[bucket * 4 + 3]!;
        keys[bucket * 2] = carriedId;
        words[bucket * 4 + 2] = carriedValue;
        words[bucket * 4 + 3] = carriedPlace;
        if (this.listed) bucketAt[carriedPlace] = bucket;
        if (!displaced) landed = bucket;
        carriedId = key;
        carriedValue = keyValue;
        carriedPlace = keyPlace;
        distance = keyDistance;
        displaced = true;
      }
      bucket = (bucket + 1) & mask;
      distance += 1;
    }
    keys[bucket * 2] = carriedId;
    words[bucket * 4 + 2] = carriedValue;
    words[bucket * 4 + 3] = carriedPlace;
    if (this.listed) bucketAt[carriedPlace] = bucket;
    this.count += 1;
    return displaced ? landed : bucket;
  }

  /** Removes an id; false when it was not present (the table is unchanged then). */
  delete(id: number): boolean {
    return this.deleteHinted(id, -1);
  }

  /** `delete` with a hint, as `findHinted`. */
  deleteHinted(id: number, hintBucket: number): boolean {
    const bucket = this.findHinted(id, hintBucket);
    if (bucket < 0) return false;
    this.removeAt(bucket);
    return true;
  }

  /** Removes an id and returns its value, ABSENT when it was not present (the table is unchanged then). */
  take(id: number): number {
    const bucket = this.find(id);
    if (bucket < 0) return ABSENT;
    const value = this.words[bucket * 4 + 2]!;
    this.removeAt(bucket);
    return value;
  }

  /** The value held in a bucket that `find` returned. */
  valueAt(bucket: number): number {
    return this.words[bucket * 4 + 2]!;
  }

  /** Removes the entry in a bucket that `find` returned (the table must not have changed since). */
  removeAt(bucket: number): void {
    if (!(this.keys[bucket * 2]! !== EMPTY)) throw new InvariantError(`IdTable(${this.name}): bucket ${bucket} is empty`);
    const keys = this.keys;
    const words = this.words;
    const mask = this.mask;
    // Swap-remove from the dense list: the last entry takes this entry's place.
    const bucketAt = this.bucketAt;
    const place = words[bucket * 4 + 3]!;
    const last = this.count - 1;
    if (this.listed && place !== last) {
      const lastBucket = bucketAt[last]!;
      bucketAt[place] = lastBucket;
      words[lastBucket * 4 + 3] = place;
    }
    // Backward shift: the rest of the run moves one bucket nearer home, up to an empty bucket or
    // an entry already at its home, so lookups keep stopping early and no tombstones accumulate.
    let hole = bucket;
    let next = (hole + 1) & mask;
    for (;;) {
      const key = keys[next * 2]!;
      if (key === EMPTY || this.homeOf(key) === next) break;
      const movedPlace = words[next * 4 + 3]!;
      keys[hole * 2] = key;
      words[hole * 4 + 2] = words[next * 4 + 2]!;
      words[hole * 4 + 3] = movedPlace;
      if (this.listed) bucketAt[movedPlace] = hole;
      hole = next;
      next = (next + 1) & mask;
    }
    keys[hole * 2] = EMPTY;
    words[hole * 4 + 2] = 0;
    words[hole * 4 + 3] = 0;
    this.count -= 1;
  }

  /** Visits every (id, value) present, in no meaningful order; O(size) with a dense list, O(capacity) by bucket scan. Do not change the table meanwhile. */
  forEach(fn: (id: number, value: number) => void): void {
    const keys = this.keys;
    const words = this.words;
    if (!this.listed) {
      for (let bucket = 0; bucket <= this.mask; bucket += 1) {
        const key = keys[bucket * 2]!;
        if (key !== EMPTY) fn(key, words[bucket * 4 + 2]!);
      }
      return;
    }
    for (let place = 0; place < this.count; place += 1) {
      const bucket = this.bucketAt[place]!;
      fn(keys[bucket * 2]!, words[bucket * 4 + 2]!);
    }
  }

  /** Every (id, value) pair, by ascending id. */
  sortedEntries(): [number, number][] {
    const pairs: [number, number][] = [];
    this.forEach((id, value) => pairs.push([id, value]));
    return pairs.sort((a, b) => a[0] - b[0]);
  }
}
