/**
 * The sequencer's idempotency table against a reference model (a Map in insertion order that
 * forgets its oldest key when full): same answers for every lookup, same rows in the same order,
 * through many evictions (each one a backward-shift deletion in the index), and back from columns.
 */
import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../src/domain/assert.ts';
import { ClientOrderIdTable } from '../../src/sequencer/client_order_id_table.ts';

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('ClientOrderIdTable', () => {
  it('answers like an insertion-ordered Map that forgets its oldest pair, through many evictions', () => {
    const next = random(8);
    const capacity = 257;
    const table = new ClientOrderIdTable(capacity);
    const model = new Map<string, number>();
    for (let orderId = 1; orderId <= 20_000; orderId += 1) {
      const accountId = 1 + Math.floor(next() * 5);
      // Few distinct ids, so the same id comes back on other accounts and after it was forgotten.
      const clientOrderId = `id-${Math.floor(next() * 600)}`;
      const key = `${accountId}:${clientOrderId}`;
      expect(table.get(accountId, clientOrderId)).toBe(model.get(key) ?? 0);
      if (model.has(key)) continue;
      if (model.size === capacity) model.delete(model.keys().next().value!);
      model.set(key, orderId);
      table.insert(accountId, clientOrderId, orderId);
      expect(table.size).toBe(model.size);
    }
    const rows = [...model].map(([key, orderId]) => [Number(key.split(':')[0]), key.slice(key.indexOf(':') + 1), orderId]);
    expect(table.rows()).toEqual(rows);
    const restored = new ClientOrderIdTable(capacity);
    restored.restoreColumns(table.exportColumns());
    expect(restored.rows()).toEqual(rows);
    for (const [accountId, clientOrderId, orderId] of rows) expect(restored.get(accountId as number, clientOrderId as string)).toBe(orderId);
  });

  it('refuses a pair twice and ids that are not clientOrderIds', () => {
    const table = new ClientOrderIdTable(4);
    table.insert(1, 'a', 1);
    expect(() => table.insert(1, 'a', 2)).toThrow(InvariantError);
    expect(() => table.insert(1, 'a:b', 3)).toThrow(InvariantError);
    expect(() => table.insert(1, 'x'.repeat(37), 4)).toThrow(InvariantError);
    expect(table.get(2, 'a')).toBe(0);
    expect(table.get(1, '')).toBe(0);
    const columns = { accountIds: Uint32Array.of(1, 1), orderIds: Float64Array.of(1, 2), lengths: Uint8Array.of(1, 1), bytes: Uint8Array.of(97, 97) };
    expect(() => new ClientOrderIdTable(4).restoreColumns(columns)).toThrow(/twice/);
  });
});
