import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Harness } from '../support/gateway_harness.ts';
import { limitOrder, startGateway } from '../support/gateway_harness.ts';

let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('GET /health', () => {
  it('200 with seq and durableSeq while running; 503 RECOVERING / SHUTTING_DOWN otherwise', async () => {
    h = await startGateway();
    await h.deposit(1, 'USDT', '5');
    expect((await h.get('/health')).body).toEqual({ status: 'ok', seq: 1, durableSeq: 1 });
    h.pipeline.phase = 'recovering';
    const recovering = await h.get('/health');
    expect([recovering.status, recovering.body.error.code]).toEqual([503, 'RECOVERING']);
    h.pipeline.phase = 'stopping';
    const stopping = await h.get('/health');
    expect([stopping.status, stopping.body.error.code]).toEqual([503, 'SHUTTING_DOWN']);
    h.pipeline.phase = 'stopped';
    expect((await h.get('/health')).body.error.code).toBe('SHUTTING_DOWN');
  });
});

describe('503 answers of the pipeline', () => {
  it('OVERLOADED with Retry-After, RECOVERING and SHUTTING_DOWN for every write', async () => {
    h = await startGateway({ retryAfterSeconds: 2 });
    await h.deposit(1, 'USDT', '1000');
    const order = await h.place(limitOrder(1, 'buy', '1', '1'));
    const writes = [
      () => h!.place(limitOrder(1, 'buy', '1', '1')),
      () => h!.deposit(1, 'USDT', '1'),
      () => h!.post('/accounts/1/withdrawals', { asset: 'USDT', amount: '1' }),
      () => h!.del(`/orders/${order.body.orderId}?accountId=1`),
    ];
    for (const write of writes) {
      h.pipeline.overloadNext = 1;
      const overloaded = await write();
      expect([overloaded.status, overloaded.body.error.code]).toEqual([503, 'OVERLOADED']);
      expect(overloaded.headers['retry-after']).toBe('2');
      h.pipeline.phase = 'recovering';
      expect((await write()).body.error.code).toBe('RECOVERING');
      h.pipeline.phase = 'stopping';
      expect((await write()).body.error.code).toBe('SHUTTING_DOWN');
      h.pipeline.phase = 'running';
    }
    // Reads keep working from the read models.
    h.pipeline.phase = 'stopping';
    expect((await h.get('/accounts/1/balances')).status).toBe(200);
    expect(h.pipeline.accepted.length).toBe(2);
  });
});

describe('GET /metrics', () => {
  it('Prometheus text with commands by type, WAL fsyncs, histograms and ring occupancy', async () => {
    h = await startGateway();
    await h.deposit(1, 'USDT', '1000');
    await h.place(limitOrder(1, 'buy', '1', '1'));
    await h.place(limitOrder(9, 'buy', '1', '1'));
    const response = await h.get('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = response.text;
    expect(text).toContain('# TYPE exchange_commands_accepted_total counter');
    expect(text).toContain('exchange_commands_accepted_total{type="deposit"} 1');
    expect(text).toContain('exchange_commands_accepted_total{type="place"} 1');
    expect(text).toContain('exchange_commands_rejected_total{type="place"} 1');
    expect(text).toContain('exchange_wal_fsyncs_total 2');
    expect(text).toContain('# TYPE exchange_wal_records_per_fsync histogram');
    expect(text).toContain('exchange_wal_records_per_fsync_bucket{le="1"} 2');
    expect(text).toContain('exchange_wal_records_per_fsync_bucket{le="100"} 2');
    expect(text).toContain('exchange_wal_records_per_fsync_bucket{le="+Inf"} 2');
    expect(text).toContain('exchange_wal_fsync_latency_ms_count 0');
    expect(text).toContain('exchange_command_latency_ms_sum 0');
    expect(text).toContain('exchange_ring_occupancy{ring="gateway-sequencer"} 0');
    expect(text).toContain('exchange_ring_capacity{ring="gateway-sequencer"} 1024');
    expect(text).toContain('exchange_open_orders 1');
    expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
    // The main thread's own stalls: event-loop delay (a 10 ms probe timer) and GC pauses.
    expect(text).toContain('# TYPE exchange_event_loop_delay_ms histogram');
    expect(text).toMatch(/^exchange_event_loop_delay_ms_bucket\{le="\+Inf"\} \d+$/m);
    expect(text).toContain('# TYPE exchange_gc_pause_ms histogram');
    expect(text).toMatch(/^exchange_gc_pause_max_ms [0-9.e+-]+$/m);
    for (const line of text.trim().split('\n')) {
      expect(line, line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? [-+0-9.e]+|\w+(\{[^}]*\})? [+-]Inf)$/);
    }
  });
});

describe('OpenAPI document and docs page', () => {
  it('serves an OpenAPI 3 document generated from the route schemas, and a docs page', async () => {
    h = await startGateway({ docs: true });
    const document = await h.get('/docs/json');
    expect(document.status).toBe(200);
    expect(document.body.openapi).toBe('3.0.3');
    expect(Object.keys(document.body.paths).sort()).toEqual([
      '/accounts/{accountId}/balances',
      '/accounts/{accountId}/deposits',
      '/accounts/{accountId}/orders',
      '/accounts/{accountId}/withdrawals',
      '/books/{symbol}',
      '/health',
      '/markets',
      '/markets/{symbol}/trades',
      '/metrics',
      '/orders',
      '/orders/{orderId}',
    ]);
    const place = document.body.paths['/orders'].post;
    expect(place.requestBody.content['application/json'].schema).toMatchObject({
      additionalProperties: false,
      required: ['accountId', 'symbol', 'side', 'type'],
      properties: { price: { type: 'string' } },
    });
    expect(Object.keys(place.responses)).toEqual(expect.arrayContaining(['200', '201', '4XX', '5XX']));
    expect(Object.keys(document.body.paths['/orders/{orderId}'])).toEqual(['get', 'delete']);
    const docs = await h.get('/docs');
    expect(docs.status).toBe(200);
    expect(docs.headers['content-type']).toMatch(/text\/html/);
  });
});

describe('logging', () => {
  it('writes no log line per request, and one for an unexpected error (without leaking it to the client)', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    h = await startGateway({ logger });
    await h.deposit(1, 'USDT', '10');
    await h.get('/accounts/1/balances');
    await h.get('/no-such-route');
    await h.place({ accountId: 1 });
    expect(lines).toEqual([]);
    h.pipeline.submit = async () => {
      throw new Error('disk on fire');
    };
    const response = await h.deposit(1, 'USDT', '10');
    expect(response.body).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 50, msg: 'unexpected error', err: { message: 'disk on fire' } });
  });
});
