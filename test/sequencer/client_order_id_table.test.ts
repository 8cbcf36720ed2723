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

  it('is adopted from an image in mid-ring: the same answers and the same evictions after, and the image is a copy', () => {
    const capacity = 64;
    const table = new ClientOrderIdTable(capacity);
    // 100 inserts into 64 entries: the ring has wrapped, its head is not at entry 0.
    for (let orderId = 1; orderId <= 100; orderId += 1) table.insert(1 + (orderId % 3), `c${orderId}`, orderId);
    const image = table.exportImage();
    const adopted = new ClientOrderIdTable(capacity, image);
    expect(adopted.rows()).toEqual(table.rows());
    table.insert(9, 'after-the-image', 101);
    expect(adopted.get(9, 'after-the-image')).toBe(0);
    adopted.insert(9, 'after-the-image', 101);
    // The same inserts from here on: the same pairs forgotten, the same rows in the same order.
    for (let orderId = 102; orderId <= 140; orderId += 1) {
      table.insert(5, `more${orderId}`, orderId);
      adopted.insert(5, `more${orderId}`, orderId);
    }
    expect(adopted.rows()).toEqual(table.rows());
    expect(adopted.get(1 + (60 % 3), 'c60')).toBe(0);
    expect(adopted.get(1 + (100 % 3), 'c100')).toBe(100);
    expect(() => new ClientOrderIdTable(capacity + 1, table.exportImage())).toThrow(InvariantError);
    expect(() => new ClientOrderIdTable(capacity, { ...table.exportImage(), count: capacity + 1 })).toThrow(InvariantError);
    expect(() => new ClientOrderIdTable(capacity, { ...table.exportImage(), head: capacity })).toThrow(InvariantError);
  });

  it('restores from columns at a size whose index takes more than one radix pass, refusing any pair twice', () => {
    const next = random(21);
    // 5,000 entries: 16,384 buckets, 14 home bits (an 11-bit and a 3-bit pass).
    const capacity = 5_000;
    const table = new ClientOrderIdTable(capacity);
    const seen = new Set<string>();
    let orderId = 0;
    // Past capacity, so the ring has wrapped and the exported columns start mid-ring.
    while (orderId < capacity * 2 + 123) {
      const accountId = 1 + Math.floor(next() * 40);
      const clientOrderId = `c${Math.floor(next() * 1e9).toString(36)}`;
      if (table.get(accountId, clientOrderId) !== 0) continue;
      orderId += 1;
      seen.add(`${accountId}:${clientOrderId}`);
      table.insert(accountId, clientOrderId, orderId);
    }
    const columns = table.exportColumns();
    const restored = new ClientOrderIdTable(capacity);
    restored.restoreColumns(columns);
    expect(restored.rows()).toEqual(table.rows());
    for (const [accountId, clientOrderId, id] of table.rows()) expect(restored.get(accountId, clientOrderId)).toBe(id);
    expect(restored.get(1, 'never-inserted')).toBe(0);
    // It goes on like the original: new pairs, evictions and lookups agree.
    for (let extra = 0; extra < 3_000; extra += 1) {
      const accountId = 1 + Math.floor(next() * 40);
      const clientOrderId = `d${extra}`;
      orderId += 1;
      table.insert(accountId, clientOrderId, orderId);
      restored.insert(accountId, clientOrderId, orderId);
    }
    expect(restored.rows()).toEqual(table.rows());
    for (const [accountId, clientOrderId, id] of table.rows()) expect(restored.get(accountId, clientOrderId)).toBe(id);
    // The same pair twice, far apart in the columns, is refused, naming the later order.
    const twice = table.exportColumns();
    const last = twice.accountIds.length - 1;
    twice.accountIds[last] = twice.accountIds[0]!;
    const firstLength = twice.lengths[0]!;
    const lastStart = twice.bytes.length - twice.lengths[last]!;
    const bytes = new Uint8Array(lastStart + firstLength);
    bytes.set(twice.bytes.subarray(0, lastStart));
    bytes.set(twice.bytes.subarray(0, firstLength), lastStart);
    twice.lengths[last] = firstLength;
    twice.bytes = bytes;
    expect(() => new ClientOrderIdTable(capacity).restoreColumns(twice)).toThrow(new RegExp(`order ${twice.orderIds[last]} is there twice`));
    // The same id on another account is not a duplicate.
    twice.accountIds[last] = twice.accountIds[0]! + 1;
    const other = new ClientOrderIdTable(capacity);
    other.restoreColumns(twice);
    expect(other.get(twice.accountIds[last]!, String.fromCharCode(...bytes.subarray(0, firstLength)))).toBe(twice.orderIds[last]);
  });

  it('refuses columns that do not describe clientOrderIds', () => {
    const good = () => ({ accountIds: Uint32Array.of(1, 2), orderIds: Float64Array.of(1, 2), lengths: Uint8Array.of(1, 2), bytes: Uint8Array.of(97, 98, 99) });
    const refused = (change: (columns: ReturnType<typeof good>) => void, message: RegExp): void => {
      const columns = good();
      change(columns);
      expect(() => new ClientOrderIdTable(4).restoreColumns(columns)).toThrow(message);
    };
    new ClientOrderIdTable(4).restoreColumns(good());
    refused((c) => (c.lengths[1] = 0), /of 0 bytes/);
    refused((c) => (c.lengths[1] = 37), /of 37 bytes/);
    refused((c) => (c.lengths[1] = 1), /more bytes than the lengths say/);
    refused((c) => (c.lengths[1] = 3), /fewer bytes than the lengths say/);
    refused((c) => (c.orderIds[1] = 0), /bad orderId 0/);
    refused((c) => (c.orderIds[1] = 1.5), /bad orderId 1.5/);
    refused((c) => (c.bytes[2] = 200), /order 2 holds byte 200/);
    refused((c) => (c.bytes[0] = 0), /order 1 holds byte 0/);
    refused((c) => (c.orderIds = Float64Array.of(1)), /different lengths/);
    expect(() => new ClientOrderIdTable(1).restoreColumns(good())).toThrow(/2 entries, more than 1/);
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
