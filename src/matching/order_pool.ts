/**
 * Order pool: every open order of every market lives in one preallocated struct of typed arrays
 * (one array per field), indexed by a slot number, with a free list. Its size is `ordersOpenMax`,
 * so resting an order never allocates and the number of open orders has a hard, named limit.
 *
 * An order also carries the links of its price level's FIFO queue (`next`, `prev`) and the level it
 * rests on, which is what makes a cancel O(1): unlinking needs no scan of the level. Market and side
 * are not stored per order; they follow from the level (see order_book.ts).
 *
 * Callers go through the accessors (V8 inlines them), so the memory layout is private to this file.
 */
import { InvariantError, assert } from '../domain/assert.ts';
import { NIL } from './price_tree.ts';

export class OrderPool {
  readonly capacity: number;
  private readonly orderIds: Float64Array;
  private readonly accountIds: Float64Array;
  private readonly remaining: Float64Array;
  private readonly filled: Float64Array;
  /** The price level (a price-tree node) each order rests on; NIL marks a free slot. */
  private readonly levels: Int32Array;
  /** FIFO links within the level; `nexts` also chains the free list. */
  private readonly nexts: Int32Array;
  private readonly prevs: Int32Array;
  private freeHead: number;
  private usedCount = 0;

  constructor(ordersOpenMax: number) {
    assert(Number.isInteger(ordersOpenMax) && ordersOpenMax >= 1, 'OrderPool: ordersOpenMax must be a positive integer');
    assert(ordersOpenMax < 2 ** 31, 'OrderPool: ordersOpenMax must fit an Int32 slot index');
    this.capacity = ordersOpenMax;
    this.orderIds = new Float64Array(ordersOpenMax);
    this.accountIds = new Float64Array(ordersOpenMax);
    this.remaining = new Float64Array(ordersOpenMax);
    this.filled = new Float64Array(ordersOpenMax);
    this.levels = new Int32Array(ordersOpenMax).fill(NIL);
    this.nexts = new Int32Array(ordersOpenMax);
    this.prevs = new Int32Array(ordersOpenMax).fill(NIL);
    for (let slot = 0; slot < ordersOpenMax - 1; slot += 1) this.nexts[slot] = slot + 1;
    this.nexts[ordersOpenMax - 1] = NIL;
    this.freeHead = 0;
  }

  /** Open orders currently held. */
  get used(): number {
    return this.usedCount;
  }

  orderId(slot: number): number {
    return this.orderIds[slot]!;
  }

  accountId(slot: number): number {
    return this.accountIds[slot]!;
  }

  remainingSteps(slot: number): number {
    return this.remaining[slot]!;
  }

  filledSteps(slot: number): number {
    return this.filled[slot]!;
  }

  level(slot: number): number {
    return this.levels[slot]!;
  }

  next(slot: number): number {
    return this.nexts[slot]!;
  }

  prev(slot: number): number {
    return this.prevs[slot]!;
  }

  setOrderId(slot: number, orderId: number): void {
    this.orderIds[slot] = orderId;
  }

  setAccountId(slot: number, accountId: number): void {
    this.accountIds[slot] = accountId;
  }

  setRemainingSteps(slot: number, remainingSteps: number): void {
    this.remaining[slot] = remainingSteps;
  }

  setFilledSteps(slot: number, filledSteps: number): void {
    this.filled[slot] = filledSteps;
  }

  setLevel(slot: number, level: number): void {
    this.levels[slot] = level;
  }

  setNext(slot: number, next: number): void {
    this.nexts[slot] = next;
  }

  setPrev(slot: number, prev: number): void {
    this.prevs[slot] = prev;
  }

  /** Takes a free slot; the caller fills every field. Crashes with the limit's name when full. */
  allocate(): number {
    const slot = this.freeHead;
    if (slot === NIL) {
      // The sequencer refuses orders beyond ordersOpenMax, so reaching this is a broken invariant.
      throw new InvariantError(`OrderPool: all ${this.capacity} slots are in use (ordersOpenMax = ${this.capacity})`);
    }
    this.freeHead = this.nexts[slot]!;
    this.nexts[slot] = NIL;
    this.prevs[slot] = NIL;
    this.usedCount += 1;
    return slot;
  }

  release(slot: number): void {
    if (this.levels[slot] === NIL) throw new InvariantError('OrderPool: slot released twice');
    this.levels[slot] = NIL;
    this.prevs[slot] = NIL;
    this.nexts[slot] = this.freeHead;
    this.freeHead = slot;
    this.usedCount -= 1;
  }
}
