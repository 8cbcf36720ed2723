/**
 * Order books: one per market, two sides each, all sharing one order pool, one order index and one
 * level arena, sized from `ordersOpenMax` at start-up.
 *
 * A book side ("book" below) is numbered `marketId × 2 + side`. Its price levels are the nodes of a
 * PriceTree keyed by priority (ask: +price, bid: −price), so the best level is the tree's first node
 * for both sides. Each level holds its price, total quantity, order count and an intrusive FIFO
 * queue of orders (head, tail; the links live in the order pool). Levels never outnumber open
 * orders, so the arena has the pool's size and can never overflow before the pool does.
 *
 * This module keeps the structure consistent (pool, index, queues, totals, trees); the matching
 * rules live in matching_engine.ts.
 */
import { assert, invariantBroken, InvariantError } from '../domain/assert.ts';
import { Side } from '../domain/commands.ts';
import { IdTable } from '../domain/id_table.ts';
import { OrderPool } from './order_pool.ts';
import { NIL, PriceTree, PriceTreeNodes } from './price_tree.ts';

/**
 * Entries per book of the price → level cache (a power of two). A book's resting prices cluster
 * around the touch, so a thousand entries hold nearly all of its live levels without collisions.
 */
const LEVEL_CACHE_ENTRIES = 1024;

export function bookOf(marketId: number, side: Side): number {
  return marketId * 2 + side;
}

/** Smaller is better on both sides: asks by rising price, bids by falling price. */
export function priorityKey(side: Side, priceTicks: number): number {
  return side === Side.Buy ? -priceTicks : priceTicks;
}

export class OrderBooks {
  readonly marketCount: number;
  readonly pool: OrderPool;
  readonly index: IdTable;
  readonly nodes: PriceTreeNodes;
  readonly trees: readonly PriceTree[];
  /** Per level, indexed by price-tree node. */
  readonly levelPrice: Float64Array;
  readonly levelTotal: Float64Array;
  readonly levelCount: Int32Array;
  readonly levelHead: Int32Array;
  readonly levelTail: Int32Array;
  readonly levelBook: Int32Array;
  /**
   * Direct-mapped cache in front of the trees' find: entry book × LEVEL_CACHE_ENTRIES + (price mod
   * LEVEL_CACHE_ENTRIES) holds the level last used at such a price, or NIL. An entry is only a
   * guess, trusted when the level still belongs to the book at that price (levelBook is NIL for a
   * released level), so it is never cleared: a new order at a live price skips the tree walk.
   */
  private readonly levelCache: Int32Array;

  constructor(marketCount: number, ordersOpenMax: number) {
    assert(Number.isInteger(marketCount) && marketCount >= 1, 'OrderBooks: at least one market');
    this.marketCount = marketCount;
    this.pool = new OrderPool(ordersOpenMax);
    this.index = new IdTable(ordersOpenMax, 'ordersOpenMax', 'sequential', 'bucket-scan');
    this.nodes = new PriceTreeNodes(ordersOpenMax);
    const trees: PriceTree[] = [];
    for (let book = 0; book < marketCount * 2; book += 1) trees.push(new PriceTree(this.nodes));
    this.trees = trees;
    this.levelPrice = new Float64Array(ordersOpenMax);
    this.levelTotal = new Float64Array(ordersOpenMax);
    this.levelCount = new Int32Array(ordersOpenMax);
    // Every field of a level is set when its node is allocated (levelFor): no fill at start-up.
    this.levelHead = new Int32Array(ordersOpenMax);
    this.levelTail = new Int32Array(ordersOpenMax);
    this.levelBook = new Int32Array(ordersOpenMax);
    this.levelCache = new Int32Array(marketCount * 2 * LEVEL_CACHE_ENTRIES).fill(NIL);
  }

  tree(book: number): PriceTree {
    const tree = this.trees[book];
    if (tree === undefined) throw new InvariantError(`OrderBooks: no book ${book} (${this.marketCount} markets)`);
    return tree;
  }

  /** The best price of a book in ticks, −1 when it is empty. */
  bestPrice(book: number): number {
    const level = this.tree(book).first();
    return level === NIL ? -1 : this.levelPrice[level]!;
  }

  /** True when the best level of `book` is at or better than `limitKey` (a taker's priority-key limit). */
  crosses(book: number, limitKey: number): boolean {
    const tree = this.tree(book);
    const level = tree.first();
    return level !== NIL && tree.key(level) <= limitKey;
  }

  /**
   * Rests a new order at the back of its price level, creating the level when needed.
   * Returns the level; its total already includes the order.
   */
  rest(book: number, priceTicks: number, orderId: number, accountId: number, remainingSteps: number, filledSteps: number): number {
    const pool = this.pool;
    const slot = pool.allocate();
    pool.setOrderId(slot, orderId);
    pool.setAccountId(slot, accountId);
    pool.setRemainingSteps(slot, remainingSteps);
    pool.setFilledSteps(slot, filledSteps);
    this.index.insert(orderId, slot);
    const level = this.levelFor(book, priceTicks);
    const tail = this.levelTail[level]!;
    pool.setLevel(slot, level);
    pool.setPrev(slot, tail);
    pool.setNext(slot, NIL);
    if (tail === NIL) this.levelHead[level] = slot;
    else pool.setNext(tail, slot);
    this.levelTail[level] = slot;
    this.levelCount[level] = this.levelCount[level]! + 1;
    this.levelTotal[level] = this.levelTotal[level]! + remainingSteps;
    return level;
  }

  private levelFor(book: number, priceTicks: number): number {
    const cacheAt = book * LEVEL_CACHE_ENTRIES + (priceTicks & (LEVEL_CACHE_ENTRIES - 1));
    const cached = this.levelCache[cacheAt]!;
    if (cached !== NIL && this.levelBook[cached] === book && this.levelPrice[cached] === priceTicks) return cached;
    const tree = this.tree(book);
    const side = (book & 1) as Side;
    const key = priorityKey(side, priceTicks);
    const found = tree.find(key);
    if (found !== NIL) {
      this.levelCache[cacheAt] = found;
      return found;
    }
    const level = tree.insert(key);
    this.levelCache[cacheAt] = level;
    this.levelPrice[level] = priceTicks;
    this.levelTotal[level] = 0;
    this.levelCount[level] = 0;
    this.levelHead[level] = NIL;
    this.levelTail[level] = NIL;
    this.levelBook[level] = book;
    return level;
  }

  /**
   * Takes an order out of the book in O(1) (plus O(log levels) when its level empties and leaves
   * the tree): unlinks it from its level's queue, forgets its id and frees its slot. The level's
   * total drops by the order's remaining quantity. Returns the level's new total (0: level gone).
   * The caller passes the orderId it already holds, which saves a cache miss on the deep-cancel path,
   * and the order's index bucket when it just looked the order up (`index.find`), which saves a probe.
   */
  remove(slot: number, orderId: number, indexBucket = -1): number {
    const pool = this.pool;
    const level = pool.level(slot);
    const before = pool.prev(slot);
    const after = pool.next(slot);
    if (before === NIL) this.levelHead[level] = after;
    else pool.setNext(before, after);
    if (after === NIL) this.levelTail[level] = before;
    else pool.setPrev(after, before);
    const count = this.levelCount[level]! - 1;
    const total = this.levelTotal[level]! - pool.remainingSteps(slot);
    this.levelCount[level] = count;
    this.levelTotal[level] = total;
    if (indexBucket >= 0) {
      if (this.index.valueAt(indexBucket) !== slot) throw new InvariantError('OrderBooks.remove: the index bucket does not hold the order');
      this.index.removeAt(indexBucket);
    } else if (!this.index.delete(orderId)) {
      throw new InvariantError('OrderBooks.remove: the order is not in the index');
    }
    pool.release(slot);
    if (count === 0) {
      if (total !== 0) throw new InvariantError('OrderBooks.remove: an emptied level kept a non-zero total');
      this.tree(this.levelBook[level]!).remove(level);
      this.levelBook[level] = NIL;
      return 0;
    }
    return total;
  }

  /**
   * Fill-or-kill pre-check: can a taker get `qtySteps` from `book` at levels no worse than
   * `limitKey` within `fillsMax` trades? Whole levels are taken by their totals and counts, so the
   * cost is O(levels crossed + fillsMax), and the book is not touched.
   */
  canFill(book: number, limitKey: number, qtySteps: number, fillsMax: number): boolean {
    const tree = this.tree(book);
    const pool = this.pool;
    let needed = qtySteps;
    let fillsLeft = fillsMax;
    for (let level = tree.first(); level !== NIL && tree.key(level) <= limitKey; level = tree.next(level)) {
      const total = this.levelTotal[level]!;
      const count = this.levelCount[level]!;
      if (total < needed) {
        if (count > fillsLeft) return false;
        needed -= total;
        fillsLeft -= count;
        continue;
      }
      if (count <= fillsLeft) return true;
      for (let slot = this.levelHead[level]!; slot !== NIL && fillsLeft > 0; slot = pool.next(slot)) {
        needed -= pool.remainingSteps(slot);
        fillsLeft -= 1;
        if (needed <= 0) return true;
      }
      return false;
    }
    return false;
  }

  /** Every resting order, each counted once: structure, totals, index and uncrossed books. O(n). */
  checkInvariants(): void {
    const pool = this.pool;
    const seen = new Uint8Array(pool.capacity);
    let orders = 0;
    let levels = 0;
    for (let book = 0; book < this.marketCount * 2; book += 1) {
      const tree = this.tree(book);
      tree.check();
      levels += tree.size;
      for (let level = tree.first(); level !== NIL; level = tree.next(level)) {
        orders += this.checkLevel(book, level, seen);
      }
    }
    for (let market = 0; market < this.marketCount; market += 1) {
      const bid = this.bestPrice(bookOf(market, Side.Buy));
      const ask = this.bestPrice(bookOf(market, Side.Sell));
      if (!(bid < 0 || ask < 0 || bid < ask)) invariantBroken(`OrderBooks: market ${market} is crossed (bid ${bid} >= ask ${ask})`);
    }
    if (orders !== pool.used) invariantBroken(`OrderBooks: ${pool.used} pool slots in use but ${orders} orders on the books`);
    if (orders !== this.index.size) invariantBroken(`OrderBooks: ${this.index.size} index entries but ${orders} orders on the books`);
    if (levels !== this.nodes.used) invariantBroken(`OrderBooks: ${this.nodes.used} level nodes in use but ${levels} levels in trees`);
  }

  private checkLevel(book: number, level: number, seen: Uint8Array): number {
    const pool = this.pool;
    const side = (book & 1) as Side;
    const price = this.levelPrice[level]!;
    assert(this.levelBook[level] === book, 'OrderBooks: level filed under the wrong book');
    assert(Number.isSafeInteger(price) && price > 0, 'OrderBooks: level price is not a positive integer');
    assert(this.tree(book).key(level) === priorityKey(side, price), 'OrderBooks: level key does not match its price');
    let count = 0;
    let total = 0;
    let previous = NIL;
    for (let slot = this.levelHead[level]!; slot !== NIL; slot = pool.next(slot)) {
      if (!(seen[slot] === 0)) invariantBroken(`OrderBooks: slot ${slot} is on the books twice`);
      seen[slot] = 1;
      assert(pool.level(slot) === level, 'OrderBooks: order does not point back at its level');
      assert(pool.prev(slot) === previous, 'OrderBooks: broken prev link in a level queue');
      const remaining = pool.remainingSteps(slot);
      assert(Number.isSafeInteger(remaining) && remaining > 0, 'OrderBooks: resting order without remaining quantity');
      assert(Number.isSafeInteger(pool.filledSteps(slot)) && pool.filledSteps(slot) >= 0, 'OrderBooks: negative filled quantity');
      assert(this.index.get(pool.orderId(slot)) === slot, 'OrderBooks: index does not map the order to its slot');
      total += remaining;
      count += 1;
      previous = slot;
    }
    assert(this.levelTail[level] === previous, 'OrderBooks: level tail is wrong');
    assert(count > 0, 'OrderBooks: empty level left in the tree');
    assert(count === this.levelCount[level], 'OrderBooks: level count differs from its queue');
    if (!(total === this.levelTotal[level])) invariantBroken(`OrderBooks: level ${price} total ${this.levelTotal[level]} != sum of its orders ${total}`);
    return count;
  }
}
