import { describe, expect, it } from 'vitest';
import { Side } from '../../src/domain/commands.ts';
import { OrderBooks, bookOf, priorityKey } from '../../src/matching/order_book.ts';
import { NIL } from '../../src/matching/price_tree.ts';

function levelsOf(books: OrderBooks, book: number): Array<[number, number, number]> {
  const tree = books.tree(book);
  const levels: Array<[number, number, number]> = [];
  for (let level = tree.first(); level !== NIL; level = tree.next(level)) {
    levels.push([books.levelPrice[level]!, books.levelTotal[level]!, books.levelCount[level]!]);
  }
  return levels;
}

describe('OrderBooks', () => {
  it('orders bid levels by falling price and ask levels by rising price, best first', () => {
    const books = new OrderBooks(2, 16);
    const bids = bookOf(1, Side.Buy);
    const asks = bookOf(1, Side.Sell);
    let id = 0;
    for (const price of [99, 101, 100]) books.rest(bids, price, ++id, 1, 5, 0);
    for (const price of [104, 102, 103]) books.rest(asks, price, ++id, 1, 5, 0);
    expect(levelsOf(books, bids).map(([price]) => price)).toEqual([101, 100, 99]);
    expect(levelsOf(books, asks).map(([price]) => price)).toEqual([102, 103, 104]);
    expect(books.bestPrice(bids)).toBe(101);
    expect(books.bestPrice(asks)).toBe(102);
    expect(books.bestPrice(bookOf(0, Side.Buy))).toBe(-1);
    books.checkInvariants();
  });

  it('keeps level totals and counts through rests and removals, and drops emptied levels', () => {
    const books = new OrderBooks(1, 8);
    const asks = bookOf(0, Side.Sell);
    const first = books.rest(asks, 100, 1, 1, 5, 0);
    const second = books.rest(asks, 100, 2, 1, 3, 0);
    expect(first).toBe(second);
    expect(levelsOf(books, asks)).toEqual([[100, 8, 2]]);
    const slotOfFirst = books.index.get(1);
    expect(books.remove(slotOfFirst, 1)).toBe(3);
    expect(levelsOf(books, asks)).toEqual([[100, 3, 1]]);
    expect(books.remove(books.index.get(2), 2)).toBe(0);
    expect(levelsOf(books, asks)).toEqual([]);
    expect(books.pool.used).toBe(0);
    expect(books.nodes.used).toBe(0);
    books.checkInvariants();
  });

  it('files orders at prices that share a level-cache entry, and at a price whose level was released and reused, under the right level', () => {
    const books = new OrderBooks(2, 16);
    const asks = bookOf(0, Side.Sell);
    const bids = bookOf(1, Side.Buy);
    // 100, 1124 and 2148 share a cache entry (the cache holds 1024 prices per book).
    const low = books.rest(asks, 100, 1, 1, 5, 0);
    const high = books.rest(asks, 1124, 2, 1, 7, 0);
    expect(high).not.toBe(low);
    expect(books.rest(asks, 100, 3, 1, 1, 0)).toBe(low);
    expect(books.rest(asks, 1124, 4, 1, 1, 0)).toBe(high);
    // Empty the level at 1124: its node is released and the next new level (another book) reuses it.
    books.remove(books.index.get(2), 2);
    books.remove(books.index.get(4), 4);
    const reused = books.rest(bids, 1124, 5, 1, 2, 0);
    expect(reused).toBe(high);
    const again = books.rest(asks, 1124, 6, 1, 4, 0);
    expect(again).not.toBe(reused);
    expect(books.rest(asks, 2148, 7, 1, 3, 0)).not.toBe(again);
    expect(levelsOf(books, asks)).toEqual([[100, 6, 2], [1124, 4, 1], [2148, 3, 1]]);
    expect(levelsOf(books, bids)).toEqual([[1124, 2, 1]]);
    books.checkInvariants();
  });

  it('tells whether a taker limit crosses the best level (equal price crosses)', () => {
    const books = new OrderBooks(1, 8);
    const asks = bookOf(0, Side.Sell);
    expect(books.crosses(asks, priorityKey(Side.Sell, 1_000))).toBe(false);
    books.rest(asks, 100, 1, 1, 5, 0);
    expect(books.crosses(asks, priorityKey(Side.Sell, 99))).toBe(false);
    expect(books.crosses(asks, priorityKey(Side.Sell, 100))).toBe(true);
    const bids = bookOf(0, Side.Buy);
    books.rest(bids, 90, 2, 1, 5, 0);
    expect(books.crosses(bids, priorityKey(Side.Buy, 91))).toBe(false);
    expect(books.crosses(bids, priorityKey(Side.Buy, 90))).toBe(true);
  });

  it('answers the FOK pre-check by quantity, price limit and fill count', () => {
    const books = new OrderBooks(1, 16);
    const asks = bookOf(0, Side.Sell);
    books.rest(asks, 100, 1, 1, 4, 0);
    books.rest(asks, 101, 2, 1, 1, 0);
    books.rest(asks, 101, 3, 1, 1, 0);
    books.rest(asks, 101, 4, 1, 1, 0);
    const limit101 = priorityKey(Side.Sell, 101);
    expect(books.canFill(asks, limit101, 7, 100)).toBe(true);
    expect(books.canFill(asks, limit101, 8, 100)).toBe(false);
    expect(books.canFill(asks, priorityKey(Side.Sell, 100), 5, 100)).toBe(false);
    expect(books.canFill(asks, limit101, 6, 3)).toBe(true);
    expect(books.canFill(asks, limit101, 7, 3)).toBe(false);
    expect(books.canFill(asks, limit101, 4, 1)).toBe(true);
    expect(books.canFill(asks, limit101, 5, 1)).toBe(false);
    books.checkInvariants();
  });

  it('detects a broken level total in its invariant check', () => {
    const books = new OrderBooks(1, 8);
    const level = books.rest(bookOf(0, Side.Buy), 100, 1, 1, 5, 0);
    books.levelTotal[level] = 6;
    expect(() => books.checkInvariants()).toThrow(/total/);
  });
});
