/**
 * Order pool: every open order of every market lives in one preallocated table of fixed-size
 * records, indexed by a slot number, with a free list. Its size is `ordersOpenMax`, so resting an
 * order never allocates and the number of open orders has a hard, named limit.
 *
 * An order also carries the links of its price level's FIFO queue (`next`, `prev`) and the level it
 * rests on, which is what makes a cancel O(1): unlinking needs no scan of the level. Market and side
 * are not stored per order; they follow from the level (see order_book.ts).
 *
 * Layout: one 64-byte record per slot (one cache line), read through two views of one buffer:
 * f64 words 0..3 = orderId, accountId, remaining, filled; i32 words 8..10 = level, next, prev.
 * A cancel or a fill touches one line per order instead of one per field (struct of arrays).
 * Callers go through the accessors (V8 inlines them), so the layout is private to this file.
 */
import { InvariantError, assert } from '../domain/assert.ts';
import { NIL } from './price_tree.ts';

/** Bytes per slot: one cache line. */
const RECORD_BYTES = 64;
const F64_STRIDE = RECORD_BYTES / 8;
const I32_STRIDE = RECORD_BYTES / 4;
const ORDER_ID = 0;
const ACCOUNT_ID = 1;
const REMAINING = 2;
const FILLED = 3;
/** i32 offsets, after the four f64 fields (32 bytes). */
const LEVEL = 8;
const NEXT = 9;
const PREV = 10;

export class OrderPool {
  readonly capacity: number;
  private readonly f64: Float64Array;
  /** `level` (NIL marks a free slot), and the FIFO links within the level; `next` also chains the free list. */
  private readonly i32: Int32Array;
  /** Released slots, chained through `next`; NIL when none. */
  private freeHead: number;
  /** Slots [0, highWater) have been handed out at least once. */
  private highWater = 0;
  private usedCount = 0;

  constructor(ordersOpenMax: number) {
    assert(Number.isInteger(ordersOpenMax) && ordersOpenMax >= 1, 'OrderPool: ordersOpenMax must be a positive integer');
    assert(ordersOpenMax < 2 ** 31, 'OrderPool: ordersOpenMax must fit an Int32 slot index');
    this.capacity = ordersOpenMax;
    const buffer = new ArrayBuffer(ordersOpenMax * RECORD_BYTES);
    this.f64 = new Float64Array(buffer);
    this.i32 = new Int32Array(buffer);
    // Slots never used are handed out from the high-water mark, so construction touches no memory
    // (ordersOpenMax × 64 bytes; its pages are faulted in only as orders arrive).
    this.freeHead = NIL;
  }

  /** Open orders currently held. */
  get used(): number {
    return this.usedCount;
  }

  orderId(slot: number): number {
    return this.f64[slot * F64_STRIDE + ORDER_ID]!;
  }

  accountId(slot: number): number {
    return this.f64[slot * F64_STRIDE + ACCOUNT_ID]!;
  }

  remainingSteps(slot: number): number {
    return this.f64[slot * F64_STRIDE + REMAINING]!;
  }

  filledSteps(slot: number): number {
    return this.f64[slot * F64_STRIDE + FILLED]!;
  }

  level(slot: number): number {
    return this.i32[slot * I32_STRIDE + LEVEL]!;
  }

  next(slot: number): number {
    return this.i32[slot * I32_STRIDE + NEXT]!;
  }

  prev(slot: number): number {
    return this.i32[slot * I32_STRIDE + PREV]!;
  }

  setOrderId(slot: number, orderId: number): void {
    this.f64[slot * F64_STRIDE + ORDER_ID] = orderId;
  }

  setAccountId(slot: number, accountId: number): void {
    this.f64[slot * F64_STRIDE + ACCOUNT_ID] = accountId;
  }

  setRemainingSteps(slot: number, remainingSteps: number): void {
    this.f64[slot * F64_STRIDE + REMAINING] = remainingSteps;
  }

  setFilledSteps(slot: number, filledSteps: number): void {
    this.f64[slot * F64_STRIDE + FILLED] = filledSteps;
  }

  setLevel(slot: number, level: number): void {
    this.i32[slot * I32_STRIDE + LEVEL] = level;
  }

  setNext(slot: number, next: number): void {
    this.i32[slot * I32_STRIDE + NEXT] = next;
  }

  setPrev(slot: number, prev: number): void {
    this.i32[slot * I32_STRIDE + PREV] = prev;
  }

  /** Takes a free slot; the caller fills every field. Crashes with the limit's name when full. */
  allocate(): number {
    let slot = this.freeHead;
    const i32 = this.i32;
    if (slot !== NIL) {
      this.freeHead = i32[slot * I32_STRIDE + NEXT]!;
    } else {
      // The sequencer refuses orders beyond ordersOpenMax, so reaching this is a broken invariant.
      if (this.highWater >= this.capacity) throw new InvariantError(`OrderPool: all ${this.capacity} slots are in use (ordersOpenMax = ${this.capacity})`);
      slot = this.highWater;
      this.highWater += 1;
    }
    const base = slot * I32_STRIDE;
    i32[base + NEXT] = NIL;
    i32[base + PREV] = NIL;
    this.usedCount += 1;
    return slot;
  }

  release(slot: number): void {
    const i32 = this.i32;
    const base = slot * I32_STRIDE;
    if (i32[base + LEVEL] === NIL) throw new InvariantError('OrderPool: slot released twice');
    i32[base + LEVEL] = NIL;
    i32[base + PREV] = NIL;
    i32[base + NEXT] = this.freeHead;
    this.freeHead = slot;
    this.usedCount -= 1;
  }
}
