import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../src/domain/assert.ts';
import { NIL, PriceTree, PriceTreeNodes } from '../../src/matching/price_tree.ts';
import { Prng } from './support/prng.ts';

function keysInOrder(tree: PriceTree): number[] {
  const keys: number[] = [];
  for (let node = tree.first(); node !== NIL; node = tree.next(node)) keys.push(tree.key(node));
  return keys;
}

function keysInReverse(tree: PriceTree): number[] {
  const keys: number[] = [];
  for (let node = tree.last(); node !== NIL; node = tree.prev(node)) keys.push(tree.key(node));
  return keys;
}

describe('PriceTree', () => {
  it('keeps keys sorted and threads them both ways', () => {
    const tree = new PriceTree(new PriceTreeNodes(16));
    for (const key of [50, 10, 30, 70, 60, -5, 20]) tree.insert(key);
    tree.check();
    expect(keysInOrder(tree)).toEqual([-5, 10, 20, 30, 50, 60, 70]);
    expect(keysInReverse(tree)).toEqual([70, 60, 50, 30, 20, 10, -5]);
    expect(tree.key(tree.first())).toBe(-5);
    expect(tree.key(tree.last())).toBe(70);
    expect(tree.size).toBe(7);
  });

  it('stays balanced under sorted insertion (height is logarithmic)', () => {
    const nodes = new PriceTreeNodes(1 << 12);
    const tree = new PriceTree(nodes);
    for (let key = 1; key <= 4095; key += 1) tree.insert(key);
    tree.check();
    let maxHeight = 0;
    for (let node = 0; node < nodes.capacity; node += 1) maxHeight = Math.max(maxHeight, nodes.height[node] ?? 0);
    // A perfect tree of 4095 nodes has height 12; AVL allows at most ~1.44 log2(n).
    expect(maxHeight).toBeLessThanOrEqual(13);
  });

  it('removes nodes with zero, one and two children and releases them to the arena', () => {
    const nodes = new PriceTreeNodes(8);
    const tree = new PriceTree(nodes);
    const handles = new Map<number, number>();
    for (const key of [40, 20, 60, 10, 30, 50, 70]) handles.set(key, tree.insert(key));
    for (const key of [20, 10, 40, 70, 60]) {
      tree.remove(handles.get(key) ?? NIL);
      tree.check();
    }
    expect(keysInOrder(tree)).toEqual([30, 50]);
    expect(nodes.used).toBe(2);
  });

  it('refuses a duplicate key and a full arena with a clear error', () => {
    const tree = new PriceTree(new PriceTreeNodes(2));
    tree.insert(1);
    expect(() => tree.insert(1)).toThrow(InvariantError);
    tree.insert(2);
    expect(() => tree.insert(3)).toThrow(/level nodes are in use/);
  });

  it('shares one arena between trees without mixing their keys', () => {
    const nodes = new PriceTreeNodes(32);
    const asks = new PriceTree(nodes);
    const bids = new PriceTree(nodes);
    for (let key = 1; key <= 10; key += 1) {
      asks.insert(key);
      bids.insert(-key);
    }
    asks.check();
    bids.check();
    expect(keysInOrder(asks)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(keysInOrder(bids)).toEqual([-10, -9, -8, -7, -6, -5, -4, -3, -2, -1]);
    expect(() => asks.remove(bids.first())).toThrow(/not in this tree/);
  });

  it('matches a sorted-array model over many seeded random operations', () => {
    // Plain comparisons in the loop (expect() per step would dominate the run time); a mismatch
    // throws with the seed and step so it reproduces exactly.
    const same = (actual: unknown, expected: unknown, what: string, seed: number, step: number): void => {
      if (actual !== expected) throw new Error(`seed ${seed} step ${step}: ${what} is ${String(actual)}, model says ${String(expected)}`);
    };
    const keyOrNull = (tree: PriceTree, node: number): number | null => (node === NIL ? null : tree.key(node));
    let operations = 0;
    for (const seed of [1, 2, 3, 4, 5]) {
      const prng = new Prng(seed);
      const capacity = 300;
      const nodes = new PriceTreeNodes(capacity);
      const tree = new PriceTree(nodes);
      const model: number[] = []; // sorted keys
      const handleOf = new Map<number, number>();
      for (let step = 0; step < 20_000; step += 1) {
        operations += 1;
        const roll = prng.next();
        const key = prng.int(-400, 400);
        const position = model.indexOf(key);
        if (roll < 0.5 && position < 0 && model.length < capacity) {
          handleOf.set(key, tree.insert(key));
          const insertAt = model.findIndex((existing) => existing > key);
          model.splice(insertAt < 0 ? model.length : insertAt, 0, key);
        } else if (roll < 0.9 && model.length > 0) {
          const victim = prng.pick(model);
          tree.remove(handleOf.get(victim) ?? NIL);
          handleOf.delete(victim);
          model.splice(model.indexOf(victim), 1);
        } else {
          // Queries: find, successor and predecessor of a present key.
          const found = tree.find(key);
          same(keyOrNull(tree, found), position < 0 ? null : key, 'find', seed, step);
          if (position >= 0) {
            same(keyOrNull(tree, tree.next(found)), model[position + 1] ?? null, 'successor', seed, step);
            same(keyOrNull(tree, tree.prev(found)), model[position - 1] ?? null, 'predecessor', seed, step);
          }
        }
        same(tree.size, model.length, 'size', seed, step);
        same(keyOrNull(tree, tree.first()), model[0] ?? null, 'min', seed, step);
        same(keyOrNull(tree, tree.last()), model[model.length - 1] ?? null, 'max', seed, step);
        if (step % 97 === 0) {
          tree.check();
          same(keysInOrder(tree).join(), model.join(), 'in-order walk', seed, step);
          same(nodes.used, model.length, 'arena nodes in use', seed, step);
        }
      }
      tree.check();
      expect(keysInOrder(tree)).toEqual(model);
    }
    expect(operations).toBe(100_000);
  });
});
