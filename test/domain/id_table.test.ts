import { describe, expect, it } from 'vitest';
import { ABSENT as NIL, IdTable } from '../../src/domain/id_table.ts';
import { Prng } from '../matching/support/prng.ts';

describe('IdTable', () => {
  it('maps ids to slots, forgets deleted ids and refuses duplicates', () => {
    const index = new IdTable(4);
    index.insert(7, 0);
    index.insert(2 ** 40 + 7, 1); // same low 32 bits as 7
    expect(index.get(7)).toBe(0);
    expect(index.get(2 ** 40 + 7)).toBe(1);
    expect(index.get(8)).toBe(NIL);
    expect(() => index.insert(7, 2)).toThrow(/already present/);
    index.delete(7);
    expect(index.get(7)).toBe(NIL);
    expect(index.get(2 ** 40 + 7)).toBe(1);
    expect(index.delete(7)).toBe(false);
  });

  it('finds an id from a hint only when the hinted bucket still holds it, and otherwise by probing', () => {
    // 16 buckets, sequential homes: 3, 19 and 35 share home 3, so deletes shift them between buckets.
    const table = new IdTable(8, 'hinted', 'sequential', 'bucket-scan');
    const bucketOf3 = table.insert(3, 30);
    const bucketOf19 = table.insert(19, 190);
    const bucketOf35 = table.insert(35, 350);
    expect([bucketOf3, bucketOf19, bucketOf35]).toEqual([3, 4, 5]);
    for (const [id, bucket] of [[3, bucketOf3], [19, bucketOf19], [35, bucketOf35]] as const) {
      expect(table.findHinted(id, bucket)).toBe(table.find(id));
      expect(table.valueAt(table.findHinted(id, bucket))).toBe(id * 10);
    }
    // Wrong, out-of-range and absent hints fall back to the probe.
    expect(table.findHinted(19, bucketOf3)).toBe(bucketOf19);
    expect(table.findHinted(19, -1)).toBe(bucketOf19);
    expect(table.findHinted(19, 1000)).toBe(bucketOf19);
    expect(table.findHinted(51, bucketOf35)).toBe(-1);
    // Nothing that cannot be inserted is found through a hint at an empty bucket either.
    expect(table.findHinted(0, 0)).toBe(-1);
    // After 3 leaves, 19 and 35 shift back a bucket: their old hints are stale and not trusted.
    expect(table.deleteHinted(3, bucketOf3)).toBe(true);
    expect(table.findHinted(35, bucketOf35)).toBe(bucketOf35 - 1);
    expect(table.deleteHinted(35, bucketOf35)).toBe(true);
    expect(table.get(35)).toBe(NIL);
    expect(table.get(19)).toBe(190);
    expect(table.deleteHinted(35, bucketOf35)).toBe(false);
    // Robin Hood: an insert that displaces others reports where the new id itself landed.
    const displacing = new IdTable(8, 'hinted', 'sequential', 'bucket-scan');
    displacing.insert(3, 1);
    displacing.insert(19, 2); // bucket 4, one from home
    expect(displacing.insert(5, 3)).toBe(5); // at home
    // 35 (home 3) passes 3 and 19, then takes bucket 5 from 5 (at home, nearer than 35 would be).
    expect(displacing.insert(35, 4)).toBe(5);
    expect(displacing.find(35)).toBe(5);
    expect(displacing.find(5)).toBe(6);
    expect(displacing.get(5)).toBe(3);
  });

  it('visits every entry and sorts them by id', () => {
    const table = new IdTable(8);
    for (const id of [30, 5, 2 ** 35, 17]) table.insert(id, id % 7);
    table.delete(17);
    const seen: number[] = [];
    table.forEach((id, value) => {
      expect(value).toBe(id % 7);
      seen.push(id);
    });
    expect(seen.sort((a, b) => a - b)).toEqual([5, 30, 2 ** 35]);
    expect(table.sortedEntries()).toEqual([[5, 5], [30, 2], [2 ** 35, 2 ** 35 % 7]]);
    expect(table.has(30)).toBe(true);
    expect(table.has(17)).toBe(false);
  });

  it('refuses ids that are not positive and values outside 32 bits, and keeps the largest value', () => {
    const table = new IdTable(4, 'things');
    expect(() => table.insert(0, 1)).toThrow(/positive/);
    expect(() => table.insert(1, -1)).toThrow(/\[0, 2\^32\)/);
    expect(() => table.insert(1, 2 ** 32)).toThrow(/\[0, 2\^32\)/);
    expect(() => table.insert(1, 0.5)).toThrow(/\[0, 2\^32\)/);
    expect(table.size).toBe(0);
    // 0 marks an empty bucket: it must never be found, nor anything that is not a positive id.
    table.insert(1, 5);
    for (const id of [0, -1, -0, NaN]) {
      expect(table.has(id)).toBe(false);
      expect(table.get(id)).toBe(NIL);
      expect(table.delete(id)).toBe(false);
    }
    table.delete(1);
    table.insert(2 ** 53 - 1, 2 ** 32 - 1);
    expect(table.get(2 ** 53 - 1)).toBe(2 ** 32 - 1);
    table.delete(2 ** 53 - 1);
    expect(table.size).toBe(0);
  });

  it('refuses more entries than its limit', () => {
    const index = new IdTable(2, 'ordersOpenMax');
    index.insert(1, 0);
    index.insert(2, 1);
    expect(() => index.insert(3, 2)).toThrow(/ordersOpenMax/);
  });

  for (const [idKeys, iteration] of [['scattered', 'dense-list'], ['sequential', 'dense-list'], ['sequential', 'bucket-scan']] as const) {
    it(`agrees with a Map over a seeded random flow (${idKeys} keys, ${iteration}: dense probe runs, Robin Hood inserts, backward-shift deletes)`, () => {
      const prng = new Prng(42);
      const capacity = 512;
      const index = new IdTable(capacity, 'things', idKeys, iteration);
      const model = new Map<number, number>();
      let nextId = 1;
      for (let step = 0; step < 50_000; step += 1) {
        if (prng.chance(0.55) && model.size < capacity) {
          // Sequential ids (like seqs) with occasional big jumps, and now and then one that shares
          // its low bits (its home in a 'sequential' table) with a live id.
          const roll = prng.int(0, 99);
          if (roll < 5) nextId += prng.int(1, 2 ** 33);
          else if (roll < 15) nextId += 1024 * prng.int(1, 4) - prng.int(0, 3);
          else nextId += 1;
          if (model.has(nextId)) continue;
          const slot = prng.int(0, 100_000);
          index.insert(nextId, slot);
          model.set(nextId, slot);
        } else if (model.size > 0) {
          const ids = [...model.keys()];
          const victim = ids[prng.int(0, ids.length - 1)] ?? 0;
          const how = prng.int(0, 2);
          if (how === 0) expect(index.take(victim)).toBe(model.get(victim));
          else if (how === 1) expect(index.delete(victim)).toBe(true);
          else {
            const bucket = index.find(victim);
            expect(index.valueAt(bucket)).toBe(model.get(victim));
            index.removeAt(bucket);
          }
          model.delete(victim);
        }
        if (step % 500 === 0) {
          for (const [id, slot] of model) if (index.get(id) !== slot) throw new Error(`step ${step}: id ${id} lost`);
          if (index.get(nextId + 1) !== NIL) throw new Error(`step ${step}: phantom id`);
          if (index.get(nextId + 1024) !== NIL) throw new Error(`step ${step}: phantom id sharing a home`);
          const listed = index.sortedEntries();
          const expected = [...model].sort((x, y) => x[0] - y[0]);
          if (JSON.stringify(listed) !== JSON.stringify(expected)) throw new Error(`step ${step}: iteration differs from the model`);
        }
        if (index.size !== model.size) throw new Error(`step ${step}: size ${index.size} != ${model.size}`);
      }
      for (const [id, slot] of model) expect(index.get(id)).toBe(slot);
    });
  }

  it('keeps ids that share a home reachable in a sequential table, whichever leaves first', () => {
    // 8 entries → 16 buckets: ids 16 apart share a home.
    const table = new IdTable(8, 'orders', 'sequential');
    for (const id of [3, 19, 4, 35]) table.insert(id, id);
    expect([3, 19, 4, 35].map((id) => table.get(id))).toEqual([3, 19, 4, 35]);
    expect(() => table.insert(35, 0)).toThrow(/already present/);
    expect(table.take(3)).toBe(3);
    expect([19, 4, 35].map((id) => table.get(id))).toEqual([19, 4, 35]);
    expect(table.take(3)).toBe(NIL);
    expect(table.delete(4)).toBe(true);
    expect([19, 35].map((id) => table.get(id))).toEqual([19, 35]);
    expect(table.get(51)).toBe(NIL);
    expect(table.find(51)).toBe(-1);
    expect(() => table.removeAt(0)).toThrow(/empty/);
    expect(table.sortedEntries()).toEqual([[19, 19], [35, 35]]);
  });
});
