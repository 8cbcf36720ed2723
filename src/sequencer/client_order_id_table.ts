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

/**
 * The whole table as it is in memory (a copy of its one buffer, and where its ring stands): how a
 * table built by recovery on one thread is handed to the sequencer's thread in the same process,
 * which adopts it as is instead of hashing a million ids again. Never written to disk: snapshots
 * carry columns, which are checked on restore.
 */
export interface ClientOrderIdImage {
  entriesMax: number;
  head: number;
  count: number;
  buffer: ArrayBuffer;
}

/** Which bytes may appear in a clientOrderId: [A-Za-z0-9_-]. */
const ALLOWED = new Uint8Array(128);
for (const range of ['AZ', 'az', '09']) {
  for (let code = range.charCodeAt(0); code <= range.charCodeAt(1); code += 1) ALLOWED[code] = 1;
}
ALLOWED['_'.charCodeAt(0)] = 1;
ALLOWED['-'.charCodeAt(0)] = 1;

/** 1 for every byte value a clientOrderId may not hold: a restore ORs these up, with no branch per byte. */
const DISALLOWED = new Uint8Array(256).fill(1);
for (let code = 0; code < 128; code += 1) DISALLOWED[code] = ALLOWED[code] === 1 ? 0 : 1;

/** DISALLOWED for two bytes at once, indexed by their 16-bit little-endian value. */
const DISALLOWED_PAIR = new Uint8Array(65536);
for (let pair = 0; pair < 65536; pair += 1) DISALLOWED_PAIR[pair] = DISALLOWED[pair & 0xff]! | DISALLOWED[pair >>> 8]!;

/** A slot holds the longest id in whole 32-bit words. */
const SLOT_WORDS = CLIENT_ORDER_ID_BYTES_MAX / 4;
assert(Number.isInteger(SLOT_WORDS), 'ClientOrderIdTable: a slot is a whole number of 32-bit words');

/** The index marks an empty bucket with 0 and holds entry + 1 otherwise. */
const EMPTY = 0;

/** Bits of the home bucket sorted per pass of a restore's radix sort (2,048 counters: they stay in L1). */
const RADIX_BITS = 11;

/** Entries as (hash, entry) pairs, position by position. */
interface HashedEntries {
  hashes: Uint32Array;
  entries: Uint32Array;
}

function hashStart(accountId: number): number {
  return Math.imul(accountId ^ 0x9e3779b9, 0x85ebca6b) ^ 0x811c9dc5;
}

/** One step per 4 characters: `word` holds them little-endian, the last word zero-padded. */
function hashStep(hash: number, word: number): number {
  return Math.imul(hash ^ word, 0x01000193);
}

/** The hash of a pair from the id's characters (lookups and inserts); restores hash the same words from bytes. */
function hashOf(accountId: number, clientOrderId: string): number {
  const length = clientOrderId.length;
  let hash = hashStart(accountId);
  let at = 0;
  for (; at + 4 <= length; at += 4) {
    const word = clientOrderId.charCodeAt(at) | (clientOrderId.charCodeAt(at + 1) << 8) | (clientOrderId.charCodeAt(at + 2) << 16) | (clientOrderId.charCodeAt(at + 3) << 24);
    hash = hashStep(hash, word);
  }
  if (at < length) {
    let word = 0;
    for (let shift = 0; at < length; at += 1, shift += 8) word |= clientOrderId.charCodeAt(at) << shift;
    hash = hashStep(hash, word);
  }
  return hashEnd(hash);
}

function hashEnd(hash: number): number {
  let mixed = Math.imul(hash ^ (hash >>> 16), 0x7feb352d);
  mixed = Math.imul(mixed ^ (mixed >>> 15), 0x846ca68b);
  return (mixed ^ (mixed >>> 16)) >>> 0;
}

/**
 * Checks whole columns with tight loops: every length in 1..36, the lengths adding up to the
 * bytes, every orderId a positive safe integer (the bytes are checked as they are copied).
 */
function checkColumns(columns: Readonly<ClientOrderIdColumns>): void {
  const { orderIds, lengths, bytes } = columns;
  let total = 0;
  for (let entry = 0; entry < lengths.length; entry += 1) {
    const length = lengths[entry]!;
    if (!(length >= 1 && length <= CLIENT_ORDER_ID_BYTES_MAX)) invariantBroken(`ClientOrderIdTable.restoreColumns: a clientOrderId of ${length} bytes`);
    total += length;
  }
  if (!(total <= bytes.length)) invariantBroken('ClientOrderIdTable.restoreColumns: fewer bytes than the lengths say');
  if (!(total >= bytes.length)) invariantBroken('ClientOrderIdTable.restoreColumns: more bytes than the lengths say');
  for (let entry = 0; entry < orderIds.length; entry += 1) {
    const orderId = orderIds[entry]!;
    if (!(Number.isSafeInteger(orderId) && orderId >= 1)) invariantBroken(`ClientOrderIdTable.restoreColumns: bad orderId ${orderId}`);
  }
}

/** The error for a column that holds a byte no clientOrderId may hold, naming the first such id. */
function reportDisallowedByte(lengths: Uint8Array, bytes: Uint8Array, orderIds: Float64Array): never {
  let at = 0;
  for (let entry = 0; entry < lengths.length; entry += 1) {
    for (let i = 0; i < lengths[entry]!; i += 1) {
      const code = bytes[at + i]!;
      if (DISALLOWED[code] === 1) invariantBroken(`ClientOrderIdTable.restoreColumns: the clientOrderId of order ${orderIds[entry]} holds byte ${code}`);
    }
    at += lengths[entry]!;
  }
  invariantBroken('ClientOrderIdTable.restoreColumns: a disallowed byte outside every id');
}

/**
 * One stable counting-sort pass: the pairs of `from` into `to` by the `bits`-bit digit of their
 * hash at `shift`. `from` may be just the hashes, of entries 0, 1, 2… in order. `starts` is
 * scratch with one counter per digit value.
 */
function radixPass(count: number, shift: number, bits: number, from: HashedEntries | Uint32Array, to: HashedEntries, starts: Uint32Array): void {
  const digitMask = (1 << bits) - 1;
  const fromHashes = from instanceof Uint32Array ? from : from.hashes;
  const fromEntries = from instanceof Uint32Array ? null : from.entries;
  starts.fill(0);
  for (let position = 0; position < count; position += 1) {
    const digit = (fromHashes[position]! >>> shift) & digitMask;
    starts[digit] = starts[digit]! + 1;
  }
  let sum = 0;
  for (let digit = 0; digit <= digitMask; digit += 1) {
    const digitCount = starts[digit]!;
    starts[digit] = sum;
    sum += digitCount;
  }
  for (let position = 0; position < count; position += 1) {
    const hash = fromHashes[position]!;
    const digit = (hash >>> shift) & digitMask;
    const target = starts[digit]!;
    starts[digit] = target + 1;
    to.hashes[target] = hash;
    to.entries[target] = fromEntries === null ? position : fromEntries[position]!;
  }
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
  /** Every column above lives in this one buffer. */
  private readonly buffer: ArrayBuffer;
  private readonly mask: number;
  /** log2 of the bucket count: how many low bits of a hash pick its home bucket. */
  private readonly homeBits: number;
  /** The ring: the oldest entry is at `head`, `count` entries in all. */
  private head = 0;
  private count = 0;
  /**
   * The pair `get` hashed last and its hash: the sequencer looks a new order's pair up and then
   * inserts the same pair, so the insert reuses the hash instead of walking the string again.
   */
  private hashedAccountId = 0;
  private hashedText = '';
  private hashedValue = 0;

  /** `image`: adopt a table exported by `exportImage` (same entriesMax) instead of an empty one. */
  constructor(entriesMax: number, image?: Readonly<ClientOrderIdImage>) {
    assert(Number.isSafeInteger(entriesMax) && entriesMax >= 1, 'ClientOrderIdTable: entriesMax must be a positive integer');
    let buckets = 2;
    while (buckets < entriesMax * 2) buckets *= 2;
    assert(buckets <= 2 ** 30, 'ClientOrderIdTable: too many entries for one table');
    this.capacity = entriesMax;
    // One allocation for every column, widest first so each view is aligned: V8 may collect
    // garbage on each large allocation it sees, and a restore builds a table at a million entries.
    const offsets = { accountIds: entriesMax * 8, hashes: entriesMax * 12, index: entriesMax * 16, bytes: entriesMax * 16 + buckets * 4 };
    const lengthsOffset = offsets.bytes + entriesMax * CLIENT_ORDER_ID_BYTES_MAX;
    const bytesTotal = lengthsOffset + entriesMax;
    let buffer: ArrayBuffer;
    if (image === undefined) buffer = new ArrayBuffer(bytesTotal);
    else {
      if (!(image.entriesMax === entriesMax && image.buffer.byteLength === bytesTotal)) invariantBroken('ClientOrderIdTable: an image of a table of another size');
      if (!(Number.isInteger(image.count) && image.count >= 0 && image.count <= entriesMax)) invariantBroken('ClientOrderIdTable: an image with a bad count');
      if (!(Number.isInteger(image.head) && image.head >= 0 && image.head < entriesMax)) invariantBroken('ClientOrderIdTable: an image with a bad head');
      buffer = image.buffer;
      this.head = image.head;
      this.count = image.count;
    }
    this.buffer = buffer;
    this.orderIds = new Float64Array(buffer, 0, entriesMax);
    this.accountIds = new Uint32Array(buffer, offsets.accountIds, entriesMax);
    this.hashes = new Uint32Array(buffer, offsets.hashes, entriesMax);
    this.index = new Int32Array(buffer, offsets.index, buckets);
    this.bytes = new Uint8Array(buffer, offsets.bytes, entriesMax * CLIENT_ORDER_ID_BYTES_MAX);
    this.lengths = new Uint8Array(buffer, lengthsOffset, entriesMax);
    this.mask = buckets - 1;
    this.homeBits = Math.log2(buckets);
  }

  get size(): number {
    return this.count;
  }

  /** The orderId remembered for the pair, 0 when unknown or forgotten. */
  get(accountId: number, clientOrderId: string): number {
    const length = clientOrderId.length;
    if (length === 0 || length > CLIENT_ORDER_ID_BYTES_MAX) return 0;
    const hash = hashOf(accountId, clientOrderId);
    this.hashedAccountId = accountId;
    this.hashedText = clientOrderId;
    this.hashedValue = hash;
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
    for (let i = 0; i < length; i += 1) {
      const code = clientOrderId.charCodeAt(i);
      if (!(code < 128 && ALLOWED[code] === 1)) invariantBroken(`ClientOrderIdTable: "${clientOrderId}" is not a clientOrderId`);
      this.bytes[base + i] = code;
    }
    const hash = accountId === this.hashedAccountId && clientOrderId === this.hashedText ? this.hashedValue : hashOf(accountId, clientOrderId);
    if (!this.link(entry, hash)) invariantBroken(`ClientOrderIdTable: ${accountId}:${clientOrderId} is already present`);
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

  /** A copy of the table as it is, for `new ClientOrderIdTable(entriesMax, image)` in another thread. */
  exportImage(): ClientOrderIdImage {
    return { entriesMax: this.capacity, head: this.head, count: this.count, buffer: this.buffer.slice(0) };
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
   * no pair is there twice (the caller checks accountIds and the orderIds' range). This is the bulk
   * of a snapshot restore at a million entries, so it works a column at a time: the columns are
   * checked whole in tight loops, the ids copied and hashed in one pass, and the entries linked in
   * the order of their home buckets (a radix sort), so the index is written front to back instead
   * of at a million random places, and entries with the same hash meet as neighbours.
   */
  restoreColumns(columns: Readonly<ClientOrderIdColumns>): void {
    const { accountIds, orderIds, lengths, bytes } = columns;
    const count = accountIds.length;
    assert(this.count === 0, 'ClientOrderIdTable.restoreColumns: the table is not empty');
    if (!(orderIds.length === count && lengths.length === count)) invariantBroken('ClientOrderIdTable.restoreColumns: columns of different lengths');
    if (!(count <= this.capacity)) invariantBroken(`ClientOrderIdTable.restoreColumns: ${count} entries, more than ${this.capacity}`);
    checkColumns(columns);
    this.accountIds.set(accountIds);
    this.lengths.set(lengths);
    this.copyAndHash(count, bytes, orderIds);
    const sorted = this.sortByHome(count);
    this.linkSorted(count, sorted, orderIds);
    // Last: the sort used this column's memory as scratch.
    this.orderIds.set(orderIds);
    this.count = count;
    this.head = 0;
  }

  /**
   * Copies entry e's id into its slot and hashes it, for entries [0, count), ids back to back in
   * `source`. Four bytes at a time, as 32-bit words (slots start at multiples of 4), each checked
   * by a 16-bit table without a branch: one pass over 13 MB at a million ids, a bad byte reported
   * after the pass.
   */
  private copyAndHash(count: number, source: Uint8Array, orderIds: Float64Array): void {
    const ownWords = new Uint32Array(this.bytes.buffer, this.bytes.byteOffset, this.bytes.length / 4);
    const hashes = this.hashes;
    const lengths = this.lengths;
    const accountIds = this.accountIds;
    let at = 0;
    let disallowed = 0;
    for (let entry = 0; entry < count; entry += 1) {
      const end = at + lengths[entry]!;
      let slotWord = entry * SLOT_WORDS;
      let hash = hashStart(accountIds[entry]!);
      for (; at + 4 <= end; at += 4) {
        const word = source[at]! | (source[at + 1]! << 8) | (source[at + 2]! << 16) | (source[at + 3]! << 24);
        disallowed |= DISALLOWED_PAIR[word & 0xffff]! | DISALLOWED_PAIR[word >>> 16]!;
        ownWords[slotWord] = word;
        slotWord += 1;
        hash = hashStep(hash, word);
      }
      if (at < end) {
        let word = 0;
        for (let shift = 0; at < end; at += 1, shift += 8) {
          disallowed |= DISALLOWED[source[at]!]!;
          word |= source[at]! << shift;
        }
        ownWords[slotWord] = word;
        hash = hashStep(hash, word);
      }
      hashes[entry] = hashEnd(hash);
    }
    if (disallowed !== 0) reportDisallowedByte(lengths.subarray(0, count), source, orderIds);
  }

  /**
   * The entries [0, count) as (hash, entry) pairs sorted by home bucket, entry order within a
   * bucket: an LSD radix sort over the hashes' home bits. Its scratch is memory a restore fills
   * later: the index (2 × count words or more, linked after) and the orderIds column (2 × count
   * words, set after linking), where the result ends.
   */
  private sortByHome(count: number): HashedEntries {
    const inIndex = { hashes: new Uint32Array(this.index.buffer, this.index.byteOffset, count), entries: new Uint32Array(this.index.buffer, this.index.byteOffset + count * 4, count) };
    const inOrderIds = { hashes: new Uint32Array(this.orderIds.buffer, this.orderIds.byteOffset, count), entries: new Uint32Array(this.orderIds.buffer, this.orderIds.byteOffset + count * 4, count) };
    const starts = new Uint32Array(1 << RADIX_BITS);
    assert(this.index.length >= 2 * count, 'ClientOrderIdTable.sortByHome: the index cannot hold the scratch');
    const passes = Math.ceil(this.homeBits / RADIX_BITS);
    let from: HashedEntries | null = null;
    for (let pass = 0; pass < passes; pass += 1) {
      // Alternate so that the last pass writes into the orderIds' memory, away from the index.
      const to = (passes - 1 - pass) % 2 === 0 ? inOrderIds : inIndex;
      const shift = pass * RADIX_BITS;
      radixPass(count, shift, Math.min(RADIX_BITS, this.homeBits - shift), from ?? this.hashes, to, starts);
      from = to;
    }
    return from ?? inOrderIds;
  }

  /** Links entries sorted by home bucket, refusing a pair twice (two entries of one hash share a home). */
  private linkSorted(count: number, sorted: HashedEntries, orderIds: Float64Array): void {
    const index = this.index;
    const mask = this.mask;
    const { hashes, entries } = sorted;
    index.fill(EMPTY, 0, Math.min(index.length, 2 * count));
    let groupHome = -1;
    let groupStart = 0;
    for (let position = 0; position < count; position += 1) {
      const hash = hashes[position]!;
      const entry = entries[position]!;
      const home = hash & mask;
      if (home !== groupHome) {
        groupHome = home;
        groupStart = position;
      }
      for (let other = groupStart; other < position; other += 1) {
        if (hashes[other] === hash && this.samePair(entries[other]!, entry)) invariantBroken(`ClientOrderIdTable.restoreColumns: the clientOrderId of order ${orderIds[entry]} is there twice`);
      }
      let bucket = home;
      while (index[bucket] !== EMPTY) bucket = (bucket + 1) & mask;
      index[bucket] = entry + 1;
    }
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
      if (this.hashes[other] === hash && this.samePair(other, entry)) return false;
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

  /** Entries a and b hold the same (accountId, clientOrderId). */
  private samePair(a: number, b: number): boolean {
    if (this.accountIds[a] !== this.accountIds[b]) return false;
    const length = this.lengths[a]!;
    if (this.lengths[b] !== length) return false;
    const baseA = a * CLIENT_ORDER_ID_BYTES_MAX;
    const baseB = b * CLIENT_ORDER_ID_BYTES_MAX;
    for (let i = 0; i < length; i += 1) if (this.bytes[baseA + i] !== this.bytes[baseB + i]) return false;
    return true;
  }
}
