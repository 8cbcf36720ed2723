import { describe, expect, it } from 'vitest';
import { OrderIndex } from '../../src/matching/order_index.ts';
import { NIL } from '../../src/matching/price_tree.ts';
import { Prng } from './support/prng.ts';

describe('OrderIndex', () => {
  it('maps ids to slots, forgets deleted ids and refuses duplicates', () => {
    const index = new OrderIndex(4);
    index.insert(7, 0);
    index.insert(2 ** 40 + 7, 1); // same low 32 bits as 7
    expect(index.get(7)).toBe(0);
    expect(index.get(2 ** 40 + 7)).toBe(1);
    expect(index.get(8)).toBe(NIL);
    expect(() => index.insert(7, 2)).toThrow(/already open/);
    index.delete(7);
    expect(index.get(7)).toBe(NIL);
    expect(index.get(2 ** 40 + 7)).toBe(1);
    expect(() => index.delete(7)).toThrow(/not in the index/);
  });

  it('refuses more entries than its limit', () => {
    const index = new OrderIndex(2);
    index.insert(1, 0);
    index.insert(2, 1);
    expect(() => index.insert(3, 2)).toThrow(/ordersOpenMax/);
  });

  it('agrees with a Map over a seeded random flow (dense probe runs, backward-shift deletes)', () => {
    const prng = new Prng(42);
    const capacity = 512;
    const index = new OrderIndex(capacity);
    const model = new Map<number, number>();
    let nextId = 1;
    for (let step = 0; step < 50_000; step += 1) {
      if (prng.chance(0.55) && model.size < capacity) {
        // Sequential ids (like seqs) with occasional big jumps.
        nextId += prng.chance(0.05) ? prng.int(1, 2 ** 33) : 1;
        const slot = prng.int(0, 100_000);
        index.insert(nextId, slot);
        model.set(nextId, slot);
      } else if (model.size > 0) {
        const ids = [...model.keys()];
        const victim = ids[prng.int(0, ids.length - 1)] ?? 0;
        index.delete(victim);
        model.delete(victim);
      }
      if (step % 500 === 0) {
        for (const [id, slot] of model) if (index.get(id) !== slot) throw new Error(`step ${step}: id ${id} lost`);
        if (index.get(nextId + 1) !== NIL) throw new Error(`step ${step}: phantom id`);
      }
      if (index.size !== model.size) throw new Error(`step ${step}: size ${index.size} != ${model.size}`);
    }
    for (const [id, slot] of model) expect(index.get(id)).toBe(slot);
  });
});
