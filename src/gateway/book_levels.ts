/**
 * One side of one market's aggregated order book, as the gateway's read model keeps it: price
 * levels sorted best first (bids high to low, asks low to high) with their total resting quantity.
 *
 * It is fed by the matching engine's level events (the total after each change, 0 when the level
 * is gone) and answers depth queries by reading the first N entries, without sorting. Updates
 * binary-search the position; inserting or removing a level shifts the levels behind it, which is
 * cheap for the books an exchange sees (activity concentrates near the top). The number of levels
 * is bounded by the open orders, which the core bounds (ordersOpenMax).
 */
import { invariantBroken } from '../domain/assert.ts';

export class BookLevels {
  /** Sort keys, ascending: the price for asks, minus the price for bids, so index 0 is the best. */
  private readonly keys: number[] = [];
  private readonly qtys: number[] = [];
  private readonly sign: 1 | -1;

  constructor(descending: boolean) {
    this.sign = descending ? -1 : 1;
  }

  get size(): number {
    return this.keys.length;
  }

  /** Sets the total at `priceTicks`; 0 removes the level. */
  set(priceTicks: number, qtySteps: number): void {
    if (!(Number.isSafeInteger(priceTicks) && priceTicks > 0)) invariantBroken(`BookLevels.set: bad price ${priceTicks}`);
    if (!(Number.isSafeInteger(qtySteps) && qtySteps >= 0)) invariantBroken(`BookLevels.set: bad quantity ${qtySteps}`);
    const key = this.sign * priceTicks;
    const index = this.lowerBound(key);
    const found = index < this.keys.length && this.keys[index] === key;
    if (qtySteps === 0) {
      if (found) this.removeAt(index);
      return;
    }
    if (found) this.qtys[index] = qtySteps;
    else this.insertAt(index, key, qtySteps);
  }

  /**
   * Shifts by hand rather than with splice, which returns a new array on every call: levels come
   * and go with most commands, and this runs on the main thread, where garbage costs HTTP latency.
   */
  private insertAt(index: number, key: number, qtySteps: number): void {
    const { keys, qtys } = this;
    keys.push(key);
    qtys.push(qtySteps);
    for (let at = keys.length - 1; at > index; at -= 1) {
      keys[at] = keys[at - 1]!;
      qtys[at] = qtys[at - 1]!;
    }
    keys[index] = key;
    qtys[index] = qtySteps;
  }

  private removeAt(index: number): void {
    const { keys, qtys } = this;
    const last = keys.length - 1;
    for (let at = index; at < last; at += 1) {
      keys[at] = keys[at + 1]!;
      qtys[at] = qtys[at + 1]!;
    }
    keys.pop();
    qtys.pop();
  }

  /** Price of the level at `index` (0 is the best). */
  priceAt(index: number): number {
    const key = this.keys[index];
    if (!(key !== undefined)) invariantBroken(`BookLevels.priceAt: index ${index} out of range`);
    return this.sign * key;
  }

  qtyAt(index: number): number {
    const qty = this.qtys[index];
    if (!(qty !== undefined)) invariantBroken(`BookLevels.qtyAt: index ${index} out of range`);
    return qty;
  }

  /** Total at `priceTicks`, 0 when there is no such level. */
  qtyAtPrice(priceTicks: number): number {
    const key = this.sign * priceTicks;
    const index = this.lowerBound(key);
    return this.keys[index] === key ? (this.qtys[index] ?? 0) : 0;
  }

  private lowerBound(key: number): number {
    const keys = this.keys;
    let low = 0;
    let high = keys.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (keys[middle]! < key) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
