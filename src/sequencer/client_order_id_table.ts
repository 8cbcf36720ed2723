/**
 * ClientOrderIdTable: the sequencer's idempotency memory, (accountId, clientOrderId) → orderId for
 * the last `entriesMax` orders placed with a clientOrderId, the oldest forgotten first.
 *
 * It replaces a `Map<string, number>` keyed by `${accountId}:${clientOrderId}`. At the default
 * million entries that Map is a million heap strings and a hash table V8 grows by rehashing: a
 * snapshot restore spent seconds rebuilding it, and every order with a clientOrderId built a key
 * string. Here everything is preallocated typed arrays (STYLE.md: allocate at start-up): a FIFO ring
 * of entries, each with its id's bytes in a fixed 36-byte slot (the pattern allows 1 to 36 ASCII
 * characters), and an open-addressing index (linear probing, backward-shift deletion) of entry
 * numbers. Lookups hash the string's char codes directly, so no key string is ever made, and a
 * snapshot moves the entries as a few byte runs (`exportColumns` / `restoreColumns`).
 */
import { assert, invariantBroken } from '../domain/assert.ts';

/** The longest clientOrderId (CLIENT_ORDER_ID_PATTERN in commands.ts). */
export const CLIENT_ORDER_ID_BYTES_MAX = 36;

/** The entries, oldest first, as columns: what a snapshot stores. `bytes` holds the ids back to back. */
export interface ClientOrderIdColumns {
  accountIds: Uint32Array;
  orderIds: Float64Array;
  /** Length of each id in bytes (1 to 36). */
  lengths: Uint8Array;
  /** The ids' ASCII bytes, concatenated in entry order: Σ lengths bytes. */
  bytes: Uint8Array;
}

/** Which bytes may appear in a clientOrderId: [A-Za-z0-9_-]. */
const ALLOWED = new Uint8Array(128);
for (const range of ['AZ', 'az', '09']) {
  for (let code = range.charCodeAt(0); code <= range.charCodeAt(1); code += 1) ALLOWED[code] = 1;
}
ALLOWED['_'.charCodeAt(0)] = 1;
ALLOWED['-'.charCodeAt(0)] = 1;

/** The index marks an empty bucket with 0 and holds entry + 1 otherwise. */
const EMPTY = 0;

function hashStart(accountId: number): number {
  return Math.imul(accountId ^ 0x9e3779b9, 0x85ebca6b) ^ 0x811c9dc5;
}

function hashStep(hash: number, code: number): number {
  return Math.imul(hash ^ code, 0x01000193);
}

function hashEnd(hash: number): number {
  let mixed = Math.imul(hash ^ (hash >>> 16), 0x7feb352d);
  mixed = Math.imul(mixed ^ (mixed >>> 15), 0x846ca68b);
  return (mixed ^ (mixed >>> 16)) >>> 0;
}

export class ClientOrderIdTable {
  readonly capacity: number;
  private readonly accountIds: Uint32Array;
  private readonly orderIds: Float64Array;
  private readonly lengths: Uint8Array;
  private readonly hashes: Uint32Array;
  /** Entry e's id is bytes[e × 36, e × 36 + lengths[e]). */
  private readonly bytes: Uint8Array;
  private readonly index: Int32Array;
  private readonly mask: number;
  /** The ring: the oldest entry is at `head`, `count` entries in all. */
  private head = 0;
  private count = 0;

  constructor(entriesMax: number) {
    assert(Number.isSafeInteger(entriesMax) && entriesMax >= 1, 'ClientOrderIdTable: entriesMax must be a positive integer');
    let buckets = 2;
    while (buckets < entriesMax * 2) buckets *= 2;
    assert(buckets <= 2 ** 30, 'ClientOrderIdTable: too many entries for one table');
    this.capacity = entriesMax;
    this.accountIds = new Uint32Array(entriesMax);
    this.orderIds = new Float64Array(entriesMax);
    this.lengths = new Uint8Array(entriesMax);
    this.hashes = new Uint32Array(entriesMax);
    this.bytes = new Uint8Array(entriesMax * CLIENT_ORDER_ID_BYTES_MAX);
    this.index = new Int32Array(buckets);
    this.mask = buckets - 1;
  }

  get size(): number {
    return this.count;
  }

  /** The orderId remembered for the pair, 0 when unknown or forgotten. */
  get(accountId: number, clientOrderId: string): number {
    const length = clientOrderId.length;
    if (length === 0 || length > CLIENT_ORDER_ID_BYTES_MAX) return 0;
    let hash = hashStart(accountId);
    for (let i = 0; i < length; i += 1) hash = hashStep(hash, clientOrderId.charCodeAt(i));
    hash = hashEnd(hash);
    const index = this.index;
    for (let bucket = hash & this.mask; ; bucket = (bucket + 1) & this.mask) {
      const slot = index[bucket]!;
      if (slot === EMPTY) return 0;
      const entry = slot - 1;
      if (this.hashes[entry] === hash && this.accountIds[entry] === accountId && this.holds(entry, clientOrderId)) return this.orderIds[entry]!;
    }
  }

  /**
   * Remembers a pair that is not present (the caller checked), forgetting the oldest when full.
   * The id must match CLIENT_ORDER_ID_PATTERN (the sequencer validated it).
   */
  insert(accountId: number, clientOrderId: string, orderId: number): void {
    const length = clientOrderId.length;
    const entry = this.claimEntry(accountId, length, orderId);
    const base = entry * CLIENT_ORDER_ID_BYTES_MAX;
    let hash = hashStart(accountId);
    for (let i = 0; i < length; i += 1) {
      const code = clientOrderId.charCodeAt(i);
      if (!(code < 128 && ALLOWED[code] === 1)) invariantBroken(`ClientOrderIdTable: "${clientOrderId}" is not a clientOrderId`);
      this.bytes[base + i] = code;
      hash = hashStep(hash, code);
    }
    if (!this.link(entry, hashEnd(hash))) invariantBroken(`ClientOrderIdTable: ${accountId}:${clientOrderId} is already present`);
  }

  /** The entries oldest first, as [accountId, clientOrderId, orderId] (tests, plain exports). */
  rows(): [number, string, number][] {
    const rows: [number, string, number][] = [];
    for (let offset = 0; offset < this.count; offset += 1) {
      const entry = (this.head + offset) % this.capacity;
      const base = entry * CLIENT_ORDER_ID_BYTES_MAX;
      const text = String.fromCharCode(...this.bytes.subarray(base, base + this.lengths[entry]!));
      rows.push([this.accountIds[entry]!, text, this.orderIds[entry]!]);
    }
    return rows;
  }

  /** The entries oldest first, as columns (a copy). */
  exportColumns(): ClientOrderIdColumns {
    const count = this.count;
    const columns: ClientOrderIdColumns = {
      accountIds: new Uint32Array(count),
      orderIds: new Float64Array(count),
      lengths: new Uint8Array(count),
      bytes: new Uint8Array(0),
    };
    let total = 0;
    for (let offset = 0; offset < count; offset += 1) total += this.lengths[(this.head + offset) % this.capacity]!;
    const bytes = new Uint8Array(total);
    let at = 0;
    for (let offset = 0; offset < count; offset += 1) {
      const entry = (this.head + offset) % this.capacity;
      const length = this.lengths[entry]!;
      columns.accountIds[offset] = this.accountIds[entry]!;
      columns.orderIds[offset] = this.orderIds[entry]!;
      columns.lengths[offset] = length;
      const base = entry * CLIENT_ORDER_ID_BYTES_MAX;
      bytes.set(this.bytes.subarray(base, base + length), at);
      at += length;
    }
    columns.bytes = bytes;
    return columns;
  }

  /**
   * Fills an empty table from columns, oldest first, checking every id's length and bytes and that
   * no pair is there twice (the caller checks accountIds and orderIds). Written as plain loops over
   * local typed arrays: this is the bulk of a snapshot restore at a million entries.
   */
  restoreColumns(columns: Readonly<ClientOrderIdColumns>): void {
    const { accountIds, orderIds, lengths, bytes } = columns;
    const count = accountIds.length;
    assert(this.count === 0, 'ClientOrderIdTable.restoreColumns: the table is not empty');
    if (!(orderIds.length === count && lengths.length === count)) invariantBroken('ClientOrderIdTable.restoreColumns: columns of different lengths');
    if (!(count <= this.capacity)) invariantBroken(`ClientOrderIdTable.restoreColumns: ${count} entries, more than ${this.capacity}`);
    const ownBytes = this.bytes;
    const hashes = this.hashes;
    let at = 0;
    for (let entry = 0; entry < count; entry += 1) {
      const length = lengths[entry]!;
      const orderId = orderIds[entry]!;
      if (!(length >= 1 && length <= CLIENT_ORDER_ID_BYTES_MAX)) invariantBroken(`ClientOrderIdTable.restoreColumns: a clientOrderId of ${length} bytes`);
      if (!(Number.isSafeInteger(orderId) && orderId >= 1)) invariantBroken(`ClientOrderIdTable.restoreColumns: bad orderId ${orderId}`);
      if (!(at + length <= bytes.length)) invariantBroken('ClientOrderIdTable.restoreColumns: fewer bytes than the lengths say');
      const base = entry * CLIENT_ORDER_ID_BYTES_MAX;
      let hash = hashStart(accountIds[entry]!);
      for (let i = 0; i < length; i += 1) {
        const code = bytes[at + i]!;
        if (!(code < 128 && ALLOWED[code] === 1)) invariantBroken(`ClientOrderIdTable.restoreColumns: the clientOrderId of order ${orderId} holds byte ${code}`);
        ownBytes[base + i] = code;
        hash = hashStep(hash, code);
      }
      hashes[entry] = hashEnd(hash);
      at += length;
    }
    if (!(at === bytes.length)) invariantBroken('ClientOrderIdTable.restoreColumns: more bytes than the lengths say');
    this.accountIds.set(accountIds);
    this.orderIds.set(orderIds);
    this.lengths.set(lengths);
    for (let entry = 0; entry < count; entry += 1) {
      if (!this.link(entry, hashes[entry]!)) invariantBroken(`ClientOrderIdTable.restoreColumns: the clientOrderId of order ${orderIds[entry]} is there twice`);
    }
    this.head = 0;
  }

  /** Takes the next ring entry (forgetting the oldest when full) and fills everything but its bytes. */
  private claimEntry(accountId: number, length: number, orderId: number): number {
    if (!(length >= 1 && length <= CLIENT_ORDER_ID_BYTES_MAX)) invariantBroken(`ClientOrderIdTable: a clientOrderId of ${length} characters`);
    if (!(Number.isSafeInteger(orderId) && orderId >= 1)) invariantBroken(`ClientOrderIdTable: bad orderId ${orderId}`);
    if (this.count === this.capacity) this.forgetOldest();
    const entry = (this.head + this.count) % this.capacity;
    this.accountIds[entry] = accountId;
    if (this.accountIds[entry] !== accountId) invariantBroken(`ClientOrderIdTable: account id ${accountId} does not fit 32 bits`);
    this.orderIds[entry] = orderId;
    this.lengths[entry] = length;
    return entry;
  }

  /** Puts a filled entry into the index; false (and nothing linked) when the pair is already there. */
  private link(entry: number, hash: number): boolean {
    const index = this.index;
    let bucket = hash & this.mask;
    for (; index[bucket] !== EMPTY; bucket = (bucket + 1) & this.mask) {
      const other = index[bucket]! - 1;
      if (this.hashes[other] === hash && this.accountIds[other] === this.accountIds[entry] && this.sameBytes(other, entry)) return false;
    }
    this.hashes[entry] = hash;
    index[bucket] = entry + 1;
    this.count += 1;
    return true;
  }

  private forgetOldest(): void {
    const entry = this.head;
    const index = this.index;
    const mask = this.mask;
    let hole = this.hashes[entry]! & mask;
    while (index[hole] !== entry + 1) {
      if (index[hole] === EMPTY) invariantBroken('ClientOrderIdTable: an entry is missing from the index');
      hole = (hole + 1) & mask;
    }
    // Backward-shift deletion: later entries of the probe run move into the hole, so lookups can
    // keep stopping at the first empty bucket and no tombstones accumulate.
    for (let probe = (hole + 1) & mask; index[probe] !== EMPTY; probe = (probe + 1) & mask) {
      const home = this.hashes[index[probe]! - 1]! & mask;
      if (((probe - home) & mask) >= ((probe - hole) & mask)) {
        index[hole] = index[probe]!;
        hole = probe;
      }
    }
    index[hole] = EMPTY;
    this.head = (this.head + 1) % this.capacity;
    this.count -= 1;
  }

  private holds(entry: number, clientOrderId: string): boolean {
    const length = clientOrderId.length;
    if (this.lengths[entry] !== length) return false;
    const base = entry * CLIENT_ORDER_ID_BYTES_MAX;
    for (let i = 0; i < length; i += 1) if (this.bytes[base + i] !== clientOrderId.charCodeAt(i)) return false;
    return true;
  }

  private sameBytes(a: number, b: number): boolean {
    const length = this.lengths[a]!;
    if (this.lengths[b] !== length) return false;
    const baseA = a * CLIENT_ORDER_ID_BYTES_MAX;
    const baseB = b * CLIENT_ORDER_ID_BYTES_MAX;
    for (let i = 0; i < length; i += 1) if (this.bytes[baseA + i] !== this.bytes[baseB + i]) return false;
    return true;
  }
}
