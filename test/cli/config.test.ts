import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CONFIG_DEFAULTS,
  ConfigError,
  adminExposureProblem,
  assertAdminExposureAllowed,
  isLoopbackHost,
  parseConfig,
} from '../../src/cli/config.ts';
import { DEFAULT_CORE_LIMITS } from '../../src/domain/limits.ts';

function problemsOf(argv: string[], env: NodeJS.ProcessEnv = {}): readonly string[] {
  try {
    parseConfig(argv, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

function tempFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'config-test-')), name);
  writeFileSync(path, text);
  return path;
}

describe('parseConfig defaults', () => {
  it('needs no configuration at all', () => {
    const config = parseConfig([], {});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      dataDir: './data',
      wal: { batchRecordsMax: 4096, batchDelayMs: 0, segmentBytesMax: 64 * 1024 * 1024, durability: 'fsync' },
      ringCapacity: 65_536,
      coreLimits: DEFAULT_CORE_LIMITS,
      closedOrdersMax: 100_000,
      tradesMax: 1_000,
      bookDepthMax: 1_000,
      bodyLimitBytes: 64 * 1024,
      logLevel: 'info',
      repair: false,
    });
    expect(config.adminToken).toBeUndefined();
    expect(config.marketsFile).toBeUndefined();
    expect(config.marketSet.markets.map((market) => market.symbol)).toEqual(['BTC-USDT', 'ETH-USDT']);
    expect(CONFIG_DEFAULTS.port).toBe(8080);
  });
});

describe('parseConfig overrides', () => {
  it('reads every option from the environment', () => {
    const config = parseConfig([], {
      HOST: '0.0.0.0',
      PORT: '9000',
      DATA_DIR: '/var/lib/exchange',
      ADMIN_TOKEN: 'token-123',
      WAL_BATCH_RECORDS: '128',
      WAL_BATCH_DELAY_MS: '2',
      WAL_SEGMENT_BYTES: String(8 * 1024 * 1024),
      FSYNC: 'none',
      RING_CAPACITY: '1024',
      ORDERS_OPEN_MAX: '500',
      ACCOUNTS_MAX: '600',
      FILLS_PER_COMMAND_MAX: '700',
      CLIENT_ORDER_IDS_MAX: '800',
      CLOSED_ORDERS_MAX: '5000',
      TRADES_MAX: '50',
      BOOK_DEPTH_MAX: '200',
      BODY_LIMIT_BYTES: '2048',
      LOG_LEVEL: 'warn',
      REPAIR: 'true',
    });
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 9000,
      dataDir: '/var/lib/exchange',
      adminToken: 'token-123',
      wal: { batchRecordsMax: 128, batchDelayMs: 2, segmentBytesMax: 8 * 1024 * 1024, durability: 'none' },
      ringCapacity: 1024,
      coreLimits: { ordersOpenMax: 500, accountsMax: 600, fillsPerCommandMax: 700, clientOrderIdsMax: 800 },
      closedOrdersMax: 5000,
      tradesMax: 50,
      bookDepthMax: 200,
      bodyLimitBytes: 2048,
      logLevel: 'warn',
      repair: true,
    });
  });

  it('flags win over the environment, in both --name value and --name=value forms', () => {
    const config = parseConfig(
      ['--host', 'localhost', '--port=0', '--data', './d', '--fsync=none', '--wal-batch-records', '16', '--repair', '--log-level=debug'],
      { HOST: '10.0.0.1', PORT: '1234', FSYNC: 'fsync', REPAIR: 'false' },
    );
    expect(config).toMatchObject({ host: 'localhost', port: 0, dataDir: './d', logLevel: 'debug', repair: true });
    expect(config.wal).toMatchObject({ durability: 'none', batchRecordsMax: 16 });
    expect(parseConfig(['--repair=false'], { REPAIR: '1' }).repair).toBe(false);
  });

  it('loads a market set file', () => {
    const file = tempFile(
      'markets.json',
      JSON.stringify({
        assets: [
          { asset: 'SOL', decimals: 8 },
          { asset: 'USDC', decimals: 6 },
        ],
        markets: [{ symbol: 'SOL-USDC', base: 'SOL', quote: 'USDC', tickSize: '0.001', stepSize: '0.01', minQty: '0.1' }],
      }),
    );
    const config = parseConfig(['--markets', file], {});
    expect(config.marketsFile).toBe(file);
    expect(config.marketSet.markets.map((market) => market.symbol)).toEqual(['SOL-USDC']);
    expect(parseConfig([], { MARKETS_FILE: file }).marketSet.assets).toHaveLength(2);
  });
});

describe('parseConfig validation', () => {
  it('reports every problem at once in one ConfigError', () => {
    const problems = problemsOf(['--port', '70000', '--ring-capacity', '1000', '--fsync', 'sometimes', '--log-level=loud']);
    expect(problems).toHaveLength(4);
    expect(() => parseConfig(['--port', 'x'], {})).toThrow(ConfigError);
    expect(() => parseConfig(['--port', 'x'], {})).toThrow(/--port \(PORT\) must be an integer from 0 to 65535, got "x"/);
  });

  const cases: [string, string[], NodeJS.ProcessEnv, RegExp][] = [
    ['unknown flag', ['--prot', '1'], {}, /unknown option --prot/],
    ['positional argument', ['serve'], {}, /unexpected argument "serve"/],
    ['missing value', ['--port'], {}, /--port needs a value/],
    ['missing value before a flag', ['--data', '--repair'], {}, /--data needs a value/],
    ['port not a number', [], { PORT: '80a' }, /--port \(PORT\) must be an integer/],
    ['port negative', ['--port=-1'], {}, /--port \(PORT\)/],
    ['port too large', ['--port=65536'], {}, /--port \(PORT\)/],
    ['empty host', ['--host='], {}, /--host \(HOST\) must not be empty/],
    ['empty data dir', [], { DATA_DIR: ' ' }, /--data \(DATA_DIR\) must not be empty/],
    ['ring capacity not a power of two', ['--ring-capacity', '1000'], {}, /power of two/],
    ['ring capacity too small', ['--ring-capacity', '32'], {}, /--ring-capacity \(RING_CAPACITY\) must be an integer from 64/],
    ['ring capacity too large', ['--ring-capacity', String(2 ** 25)], {}, /--ring-capacity/],
    ['wal batch zero', ['--wal-batch-records', '0'], {}, /--wal-batch-records \(WAL_BATCH_RECORDS\)/],
    ['wal batch too large', ['--wal-batch-records', String(2 ** 21)], {}, /--wal-batch-records/],
    ['wal delay too large', ['--wal-batch-delay-ms', '5000'], {}, /--wal-batch-delay-ms \(WAL_BATCH_DELAY_MS\)/],
    ['wal segment too small', ['--wal-segment-bytes', '4096'], {}, /--wal-segment-bytes \(WAL_SEGMENT_BYTES\)/],
    ['wal segment too large', ['--wal-segment-bytes', String(2 ** 33)], {}, /--wal-segment-bytes/],
    ['fsync mode', ['--fsync=always'], {}, /--fsync \(FSYNC\) must be one of fsync, none/],
    ['orders open max', ['--orders-open-max', '0'], {}, /--orders-open-max \(ORDERS_OPEN_MAX\)/],
    ['orders open max beyond the core range', ['--orders-open-max', '60000000'], {}, /ordersOpenMax must be an integer from 1 to 50000000/],
    ['accounts max', [], { ACCOUNTS_MAX: '-5' }, /--accounts-max \(ACCOUNTS_MAX\)/],
    ['fills per command max', ['--fills-per-command-max', '2000000'], {}, /fillsPerCommandMax/],
    ['client order ids max', ['--client-order-ids-max', 'many'], {}, /--client-order-ids-max/],
    ['closed orders max too small', ['--closed-orders-max', '10'], {}, /--closed-orders-max \(CLOSED_ORDERS_MAX\) must be an integer from 1000/],
    ['trades max zero', ['--trades-max', '0'], {}, /--trades-max \(TRADES_MAX\)/],
    ['book depth max', ['--book-depth-max', '0'], {}, /--book-depth-max \(BOOK_DEPTH_MAX\)/],
    ['body limit too small', ['--body-limit-bytes', '10'], {}, /--body-limit-bytes \(BODY_LIMIT_BYTES\)/],
    ['body limit too large', ['--body-limit-bytes', String(2 ** 30)], {}, /--body-limit-bytes/],
    ['log level', [], { LOG_LEVEL: 'verbose' }, /--log-level \(LOG_LEVEL\) must be one of fatal, error, warn, info, debug, trace, silent/],
    ['repair not a boolean', ['--repair=maybe'], {}, /--repair \(REPAIR\) must be true or false/],
    ['empty admin token', [], { ADMIN_TOKEN: '' }, /ADMIN_TOKEN must be 1 to 512 visible ASCII/],
    ['admin token with a space', [], { ADMIN_TOKEN: 'a b' }, /ADMIN_TOKEN/],
    ['non-loopback host without token', ['--host', '0.0.0.0'], {}, /refusing to listen on non-loopback host 0\.0\.0\.0 without ADMIN_TOKEN/],
    ['missing markets file', ['--markets', '/nonexistent/markets.json'], {}, /cannot read \/nonexistent\/markets\.json/],
  ];
  for (const [label, argv, env, pattern] of cases) {
    it(`rejects ${label}`, () => {
      const problems = problemsOf(argv, env);
      expect(problems.join('\n')).toMatch(pattern);
    });
  }

  it('rejects a markets file that is not valid JSON or not a valid market set', () => {
    expect(problemsOf(['--markets', tempFile('bad.json', '{')]).join('\n')).toMatch(/not valid JSON/);
    const inexact = tempFile(
      'inexact.json',
      JSON.stringify({
        assets: [
          { asset: 'AAA', decimals: 8 },
          { asset: 'QQQ', decimals: 2 },
        ],
        markets: [{ symbol: 'AAA-QQQ', base: 'AAA', quote: 'QQQ', tickSize: '0.001', stepSize: '1', minQty: '1' }],
      }),
    );
    expect(problemsOf(['--markets', inexact]).join('\n')).toMatch(/AAA-QQQ tickSize/);
  });
});

describe('admin exposure rule', () => {
  it('recognises loopback hosts', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.1', 'example.com', '128.0.0.1', '::ffff:10.0.0.1', '']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });

  it('refuses a non-loopback host without a token, allows it with one', () => {
    expect(adminExposureProblem('127.0.0.1', undefined)).toBeUndefined();
    expect(adminExposureProblem('0.0.0.0', 'token')).toBeUndefined();
    expect(adminExposureProblem('0.0.0.0', undefined)).toMatch(/ADMIN_TOKEN/);
    expect(() => assertAdminExposureAllowed('::', undefined)).toThrow(ConfigError);
    expect(() => assertAdminExposureAllowed('::1', undefined)).not.toThrow();
    expect(parseConfig(['--host', '0.0.0.0'], { ADMIN_TOKEN: 'token' }).host).toBe('0.0.0.0');
  });
});
