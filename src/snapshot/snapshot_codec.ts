/**
 * The snapshot body: what a snapshot file holds after its header (snapshot_file.ts), as msgpack.
 *
 *   { format, seq, walChainCrc, lastTimestampMs, markets, digest, core, readModels }
 *
 * `core` and `readModels` are themselves msgpack documents stored as `bin`, so a reader that only
 * needs the core (the replay command) does not decode the read models at all. Inside them, every
 * large list (accounts, orders, fills, clientOrderIds, trades) is a columnar table (columns.ts):
 * one typed array per numeric field, stored as raw little-endian bytes.
 *
 * Why msgpack with typed-array columns rather than JSON: at a million orders and accounts, JSON is
 * ~100 bytes per order per state machine and parses every digit; msgpack maps of the same rows
 * repeat every key and decode value by value. Columns are 1 to 8 bytes per value, encode and decode
 * at memory speed, and msgpack still gives the structure, strings and room for new fields.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import { createHash } from 'node:crypto';
import type { CoreState } from '../core/core_state.ts';
import type { StateSummary } from '../core/state_digest.ts';
import { invariantBroken } from '../domain/assert.ts';
import type { RestingOrder } from '../matching/matching_engine.ts';
import type { MarketSet } from '../domain/markets.ts';
import type { OrderColumnsState, ReadModelsState } from '../gateway/read_models.ts';
// Order statuses by code and the fill count of dropped fills: the snapshot stores both as they are
// (append only: the codes are on disk).
import { FILLS_DROPPED, ORDER_STATUS_CODES, orderColumnsOf } from '../gateway/read_models.ts';
import type { Side } from '../domain/commands.ts';
import type { TradeRecord } from '../gateway/trade_history.ts';
import type { ClientOrderIdColumns } from '../sequencer/client_order_id_table.ts';
import { CLIENT_ORDER_ID_BYTES_MAX } from '../sequencer/client_order_id_table.ts';
import type { SequencerState } from '../sequencer/sequencer.ts';
import type { LedgerOrderState } from '../settlement/ledger.ts';
import type { WalRecordPosition } from '../wal/wal_reader.ts';
import type { EncodedTable } from './columns.ts';
import {
  TableReader,
  TableWriter,
  checkFormat,
  decodeMatrix,
  decodeNumberList,
  encodeMatrix,
  encodeNumberList,
  expectArray,
  expectNumber,
  expectObject,
  expectString,
} from './columns.ts';

/**
 * 2: the sequencer's clientOrderIds are columns of ids, lengths and raw ASCII bytes (1: one
 * NUL-joined string, which took a split and a string per pair to decode). Both are read.
 */
export const SNAPSHOT_BODY_FORMAT = 2;
const SNAPSHOT_BODY_FORMATS_READ: readonly number[] = [1, 2];

/** What a snapshot stands for: the state after the record `seq`, and where that is in the log. */
export interface SnapshotMeta {
  seq: number;
  /** The WAL chain crc of the record `seq`: the log after it must chain onto this. */
  walChainCrc: number;
  /** The timestamp of the record `seq`. */
  lastTimestampMs: number;
  /** Where the record `seq` is in the WAL (a hint: recovery starts reading right after it), or null. */
  walPosition: WalRecordPosition | null;
  /** The market set the state was built with (marketsFingerprint). */
  markets: string;
  /** The state digest of `core` (state_digest.ts). */
  digest: StateSummary;
}

export interface SnapshotContent extends SnapshotMeta {
  core: CoreState;
  readModels: ReadModelsState | null;
}

/** A decoded body whose parts are decoded on demand. */
export interface SnapshotBody {
  meta: SnapshotMeta;
  core(): CoreState;
  /** False when the snapshot was written without read models. */
  hasReadModels: boolean;
  /** Null when the snapshot was written without read models. */
  readModels(): ReadModelsState | null;
}

/** A SHA-256 over the market set's definition: a snapshot only fits the markets it was made with. */
export function marketsFingerprint(marketSet: MarketSet): string {
  const definition = {
    assets: marketSet.assets.map((asset) => [asset.id, asset.symbol, asset.decimals]),
    markets: marketSet.markets.map((market) => [market.id, market.symbol, market.base.id, market.quote.id, market.tickSize, market.stepSize, market.minQty]),
  };
  return createHash('sha256').update(JSON.stringify(definition)).digest('hex');
}

const BIN_BYTES_MAX = 4 * 1024 * 1024 * 1024 - 1;

function newEncoder(): Encoder {
  // Large initial buffer: a snapshot is big, and each growth of the buffer is a copy.
  return new Encoder({ initialBufferSize: 1024 * 1024, ignoreUndefined: false });
}

function newDecoder(): Decoder {
  return new Decoder({ maxBinLength: BIN_BYTES_MAX, maxStrLength: BIN_BYTES_MAX, maxArrayLength: BIN_BYTES_MAX, maxMapLength: 1024 });
}

export function encodeSnapshotBody(content: Readonly<SnapshotContent>): Uint8Array {
  const encoder = newEncoder();
  return encoder.encode({
    format: SNAPSHOT_BODY_FORMAT,
    seq: content.seq,
    walChainCrc: content.walChainCrc,
    lastTimestampMs: content.lastTimestampMs,
    walPosition: content.walPosition === null ? null : { ...content.walPosition },
    markets: content.markets,
    digest: { ...content.digest },
    core: encoder.encode(encodeCore(content.core, content.core.sequencer.supplyUnits.length)),
    readModels: content.readModels === null ? null : encoder.encode(encodeReadModels(content.readModels)),
  });
}

export function decodeSnapshotBody(bytes: Uint8Array): SnapshotBody {
  const body = expectObject(newDecoder().decode(bytes), 'snapshot body');
  checkFormat(SNAPSHOT_BODY_FORMATS_READ.includes(body['format'] as number), () => `unsupported snapshot body format ${String(body['format'])} (this build reads ${SNAPSHOT_BODY_FORMATS_READ.join(' and ')})`);
  const digest = expectObject(body['digest'], 'digest');
  const meta: SnapshotMeta = {
    seq: expectNumber(body['seq'], 'seq'),
    walChainCrc: expectNumber(body['walChainCrc'], 'walChainCrc'),
    lastTimestampMs: expectNumber(body['lastTimestampMs'], 'lastTimestampMs'),
    walPosition: decodeWalPosition(body['walPosition']),
    markets: expectString(body['markets'], 'markets'),
    digest: {
      digest: expectString(digest['digest'], 'digest.digest'),
      lastSeq: expectNumber(digest['lastSeq'], 'digest.lastSeq'),
      tradeIdLast: expectNumber(digest['tradeIdLast'], 'digest.tradeIdLast'),
      accounts: expectNumber(digest['accounts'], 'digest.accounts'),
      openOrders: expectNumber(digest['openOrders'], 'digest.openOrders'),
    },
  };
  const core = body['core'];
  const readModels = body['readModels'];
  checkFormat(core instanceof Uint8Array, () => 'core: not bytes');
  checkFormat(readModels === null || readModels instanceof Uint8Array, () => 'readModels: not bytes');
  return {
    meta,
    core: () => decodeCore(newDecoder().decode(core)),
    hasReadModels: readModels !== null,
    readModels: () => (readModels === null ? null : decodeReadModels(newDecoder().decode(readModels))),
  };
}

function decodeWalPosition(encoded: unknown): WalRecordPosition | null {
  if (encoded === null) return null;
  const position = expectObject(encoded, 'walPosition');
  return {
    segment: expectString(position['segment'], 'walPosition.segment'),
    recordOffset: expectNumber(position['recordOffset'], 'walPosition.recordOffset'),
    nextOffset: expectNumber(position['nextOffset'], 'walPosition.nextOffset'),
  };
}

// ---------------------------------------------------------------------------------------------
// The core: sequencer, ledger, engine.

function encodeCore(core: Readonly<CoreState>, assetCount: number): object {
  const { sequencer, ledger, engine } = core;
  return {
    lastSeq: core.lastSeq,
    assetCount,
    sequencer: {
      nextSeq: sequencer.nextSeq,
      lastTimestampMs: sequencer.lastTimestampMs,
      supplyUnits: encodeNumberList(sequencer.supplyUnits),
      accounts: encodeAccountIds(sequencer.accounts, 'sequencer.accounts'),
      spendableUnits: encodeMatrix(sequencer.accounts.map((account) => account.spendableUnits), assetCount),
      openOrders: encodeOpenOrders(sequencer.openOrders),
      ...encodeSequencerClientOrderIds(sequencer),
    },
    ledger: {
      lastSeq: ledger.lastSeq,
      supplyUnits: encodeNumberList(ledger.supplyUnits),
      accounts: encodeAccountIds(ledger.accounts, 'ledger.accounts'),
      availableUnits: encodeMatrix(ledger.accounts.map((account) => account.availableUnits), assetCount),
      lockedUnits: encodeMatrix(ledger.accounts.map((account) => account.lockedUnits), assetCount),
      orders: encodeLedgerOrders(ledger.orders),
    },
    engine: { tradeIdLast: engine.tradeIdLast, orders: encodeRestingOrders(engine.orders) },
  };
}

function encodeAccountIds(accounts: readonly { accountId: number }[], what: string): EncodedTable {
  const accountId = new Uint32Array(accounts.length);
  let wrapped = 0;
  for (let i = 0; i < accounts.length; i += 1) {
    accountId[i] = accounts[i]!.accountId;
    if (accountId[i] !== accounts[i]!.accountId) wrapped += 1;
  }
  return new TableWriter(accounts.length, what).u32('accountId', accountId, wrapped).table();
}

function encodeOpenOrders(openOrders: readonly (readonly [number, number])[]): EncodedTable {
  const count = openOrders.length;
  const orderId = new Float64Array(count);
  const accountId = new Uint32Array(count);
  let wrapped = 0;
  for (let i = 0; i < count; i += 1) {
    const [order, account] = openOrders[i]!;
    orderId[i] = order;
    accountId[i] = account;
    if (accountId[i] !== account) wrapped += 1;
  }
  return new TableWriter(count, 'sequencer.openOrders').f64('orderId', orderId).u32('accountId', accountId, wrapped).table();
}

function encodeClientOrderIds(entries: readonly (readonly [number, string, number])[], what: string): EncodedTable {
  const count = entries.length;
  const accountId = new Uint32Array(count);
  const clientOrderId = new Array<string>(count);
  const orderId = new Float64Array(count);
  let wrapped = 0;
  for (let i = 0; i < count; i += 1) {
    const [account, client, order] = entries[i]!;
    accountId[i] = account;
    if (accountId[i] !== account) wrapped += 1;
    clientOrderId[i] = client;
    orderId[i] = order;
  }
  return new TableWriter(count, what).u32('accountId', accountId, wrapped).str('clientOrderId', clientOrderId).f64('orderId', orderId).table();
}

/** The sequencer's clientOrderIds as a table (accountId, orderId, length) and the ids' bytes back to back. */
function encodeSequencerClientOrderIds(sequencer: Readonly<SequencerState>): { clientOrderIds: EncodedTable; clientOrderIdBytes: Uint8Array } {
  if (sequencer.clientOrderIdImage !== undefined) invariantBroken('snapshot sequencer: a clientOrderId table image is for threads of one process, never for a snapshot');
  const columns = sequencer.clientOrderIdColumns ?? clientOrderIdRowsToColumns(sequencer.clientOrderIds);
  if (sequencer.clientOrderIdColumns !== undefined && sequencer.clientOrderIds.length !== 0) invariantBroken('snapshot sequencer: clientOrderIds as rows and as columns');
  const count = columns.accountIds.length;
  let total = 0;
  for (let i = 0; i < count; i += 1) {
    const length = columns.lengths[i]!;
    if (!(length >= 1 && length <= CLIENT_ORDER_ID_BYTES_MAX)) invariantBroken(`snapshot sequencer.clientOrderIds: a clientOrderId of ${length} bytes`);
    total += length;
  }
  if (total !== columns.bytes.length) invariantBroken('snapshot sequencer.clientOrderIds: the lengths do not add up to the bytes');
  const table = new TableWriter(count, 'sequencer.clientOrderIds')
    .u32('accountId', columns.accountIds, 0)
    .f64('orderId', columns.orderIds)
    .u8('length', columns.lengths, 0)
    .table();
  return { clientOrderIds: table, clientOrderIdBytes: columns.bytes };
}

function clientOrderIdRowsToColumns(rows: readonly (readonly [number, string, number])[]): ClientOrderIdColumns {
  const count = rows.length;
  const columns: ClientOrderIdColumns = { accountIds: new Uint32Array(count), orderIds: new Float64Array(count), lengths: new Uint8Array(count), bytes: new Uint8Array(0) };
  const bytes: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const [accountId, clientOrderId, orderId] = rows[i]!;
    columns.accountIds[i] = accountId;
    if (columns.accountIds[i] !== accountId) invariantBroken(`snapshot sequencer.clientOrderIds: account id ${accountId} does not fit 32 bits`);
    columns.orderIds[i] = orderId;
    if (!(clientOrderId.length >= 1 && clientOrderId.length <= CLIENT_ORDER_ID_BYTES_MAX)) invariantBroken(`snapshot sequencer.clientOrderIds: bad clientOrderId "${clientOrderId}"`);
    columns.lengths[i] = clientOrderId.length;
    for (let at = 0; at < clientOrderId.length; at += 1) {
      const code = clientOrderId.charCodeAt(at);
      if (code >= 128) invariantBroken(`snapshot sequencer.clientOrderIds: "${clientOrderId}" is not ASCII`);
      bytes.push(code);
    }
  }
  columns.bytes = Uint8Array.from(bytes);
  return columns;
}

function decodeSequencerClientOrderIds(sequencer: Record<string, unknown>): Pick<SequencerState, 'clientOrderIds' | 'clientOrderIdColumns'> {
  const encodedBytes = sequencer['clientOrderIdBytes'];
  // Format 1: a NUL-joined string column.
  if (encodedBytes === undefined) return { clientOrderIds: decodeClientOrderIds(sequencer['clientOrderIds'], 'sequencer.clientOrderIds') };
  checkFormat(encodedBytes instanceof Uint8Array, () => 'sequencer.clientOrderIdBytes: not bytes');
  const table = new TableReader(sequencer['clientOrderIds'], 'sequencer.clientOrderIds');
  const lengths = table.u8('length');
  let total = 0;
  for (let i = 0; i < lengths.length; i += 1) total += lengths[i]!;
  checkFormat(total === encodedBytes.length, () => 'sequencer.clientOrderIdBytes: the lengths do not add up to the bytes');
  // The state machine checks every id's bytes and every pair as it restores them (no second pass here).
  return { clientOrderIds: [], clientOrderIdColumns: { accountIds: table.u32('accountId'), orderIds: table.f64('orderId'), lengths, bytes: encodedBytes } };
}

function encodeLedgerOrders(orders: readonly LedgerOrderState[]): EncodedTable {
  const count = orders.length;
  const orderId = new Float64Array(count);
  const accountId = new Uint32Array(count);
  const marketId = new Uint32Array(count);
  const side = new Uint8Array(count);
  const isMarket = new Uint8Array(count);
  const priceTicks = new Float64Array(count);
  const remainingSteps = new Float64Array(count);
  const reservedUnits = new Float64Array(count);
  let wrapped = 0;
  for (let i = 0; i < count; i += 1) {
    const order = orders[i]!;
    orderId[i] = order.orderId;
    accountId[i] = order.accountId;
    marketId[i] = order.marketId;
    side[i] = order.side;
    isMarket[i] = order.isMarket ? 1 : 0;
    priceTicks[i] = order.priceTicks;
    remainingSteps[i] = order.remainingSteps;
    reservedUnits[i] = order.reservedUnits;
    if (accountId[i] !== order.accountId || marketId[i] !== order.marketId || side[i] !== order.side) wrapped += 1;
  }
  return new TableWriter(count, 'ledger.orders')
    .f64('orderId', orderId)
    .u32('accountId', accountId, wrapped)
    .u32('marketId', marketId, 0)
    .u8('side', side, 0)
    .u8('isMarket', isMarket, 0)
    .f64('priceTicks', priceTicks)
    .f64('remainingSteps', remainingSteps)
    .f64('reservedUnits', reservedUnits)
    .table();
}

function encodeRestingOrders(orders: readonly RestingOrder[]): EncodedTable {
  const count = orders.length;
  const orderId = new Float64Array(count);
  const accountId = new Uint32Array(count);
  const marketId = new Uint32Array(count);
  const side = new Uint8Array(count);
  const priceTicks = new Float64Array(count);
  const remainingSteps = new Float64Array(count);
  const filledSteps = new Float64Array(count);
  let wrapped = 0;
  for (let i = 0; i < count; i += 1) {
    const order = orders[i]!;
    orderId[i] = order.orderId;
    accountId[i] = order.accountId;
    marketId[i] = order.marketId;
    side[i] = order.side;
    priceTicks[i] = order.priceTicks;
    remainingSteps[i] = order.remainingSteps;
    filledSteps[i] = order.filledSteps;
    if (accountId[i] !== order.accountId || marketId[i] !== order.marketId || side[i] !== order.side) wrapped += 1;
  }
  return new TableWriter(count, 'engine.orders')
    .f64('orderId', orderId)
    .u32('accountId', accountId, wrapped)
    .u32('marketId', marketId, 0)
    .u8('side', side, 0)
    .f64('priceTicks', priceTicks)
    .f64('remainingSteps', remainingSteps)
    .f64('filledSteps', filledSteps)
    .table();
}

function decodeCore(encoded: unknown): CoreState {
  const core = expectObject(encoded, 'core');
  const assetCount = expectNumber(core['assetCount'], 'core.assetCount');
  const sequencer = expectObject(core['sequencer'], 'core.sequencer');
  const ledger = expectObject(core['ledger'], 'core.ledger');
  const engine = expectObject(core['engine'], 'core.engine');
  const sequencerAccounts = new TableReader(sequencer['accounts'], 'sequencer.accounts');
  const spendable = decodeMatrix(sequencer['spendableUnits'], sequencerAccounts.rows, assetCount, 'sequencer.spendableUnits');
  const sequencerAccountIds = sequencerAccounts.u32('accountId');
  const ledgerAccounts = new TableReader(ledger['accounts'], 'ledger.accounts');
  const ledgerAccountIds = ledgerAccounts.u32('accountId');
  const available = decodeMatrix(ledger['availableUnits'], ledgerAccounts.rows, assetCount, 'ledger.availableUnits');
  const locked = decodeMatrix(ledger['lockedUnits'], ledgerAccounts.rows, assetCount, 'ledger.lockedUnits');
  return {
    lastSeq: expectNumber(core['lastSeq'], 'core.lastSeq'),
    sequencer: {
      nextSeq: expectNumber(sequencer['nextSeq'], 'sequencer.nextSeq'),
      lastTimestampMs: expectNumber(sequencer['lastTimestampMs'], 'sequencer.lastTimestampMs'),
      supplyUnits: decodeNumberList(sequencer['supplyUnits'], 'sequencer.supplyUnits'),
      accounts: spendable.map((spendableUnits, index) => ({ accountId: sequencerAccountIds[index]!, spendableUnits })),
      openOrders: decodeOpenOrders(sequencer['openOrders']),
      ...decodeSequencerClientOrderIds(sequencer),
    },
    ledger: {
      lastSeq: expectNumber(ledger['lastSeq'], 'ledger.lastSeq'),
      supplyUnits: decodeNumberList(ledger['supplyUnits'], 'ledger.supplyUnits'),
      accounts: available.map((availableUnits, index) => ({ accountId: ledgerAccountIds[index]!, availableUnits, lockedUnits: locked[index]! })),
      orders: decodeLedgerOrders(ledger['orders']),
    },
    engine: {
      tradeIdLast: expectNumber(engine['tradeIdLast'], 'engine.tradeIdLast'),
      orders: decodeRestingOrders(engine['orders']),
    },
  };
}

function decodeOpenOrders(encoded: unknown): [number, number][] {
  const table = new TableReader(encoded, 'sequencer.openOrders');
  const orderId = table.f64('orderId');
  const accountId = table.u32('accountId');
  const rows = new Array<[number, number]>(table.rows);
  for (let i = 0; i < table.rows; i += 1) rows[i] = [orderId[i]!, accountId[i]!];
  return rows;
}

function decodeClientOrderIds(encoded: unknown, what: string): [number, string, number][] {
  const table = new TableReader(encoded, what);
  const accountId = table.u32('accountId');
  const clientOrderId = table.str('clientOrderId');
  const orderId = table.f64('orderId');
  const rows = new Array<[number, string, number]>(table.rows);
  for (let i = 0; i < table.rows; i += 1) rows[i] = [accountId[i]!, clientOrderId[i]!, orderId[i]!];
  return rows;
}

function decodeLedgerOrders(encoded: unknown): LedgerOrderState[] {
  const table = new TableReader(encoded, 'ledger.orders');
  const orderId = table.f64('orderId');
  const accountId = table.u32('accountId');
  const marketId = table.u32('marketId');
  const side = table.u8('side');
  const isMarket = table.bool('isMarket');
  const priceTicks = table.f64('priceTicks');
  const remainingSteps = table.f64('remainingSteps');
  const reservedUnits = table.f64('reservedUnits');
  const rows = new Array<LedgerOrderState>(table.rows);
  for (let i = 0; i < table.rows; i += 1) {
    rows[i] = {
      orderId: orderId[i]!,
      accountId: accountId[i]!,
      marketId: marketId[i]!,
      side: side[i]! as Side,
      isMarket: isMarket[i] === 1,
      priceTicks: priceTicks[i]!,
      remainingSteps: remainingSteps[i]!,
      reservedUnits: reservedUnits[i]!,
    };
  }
  return rows;
}

function decodeRestingOrders(encoded: unknown): RestingOrder[] {
  const table = new TableReader(encoded, 'engine.orders');
  const orderId = table.f64('orderId');
  const accountId = table.u32('accountId');
  const marketId = table.u32('marketId');
  const side = table.u8('side');
  const priceTicks = table.f64('priceTicks');
  const remainingSteps = table.f64('remainingSteps');
  const filledSteps = table.f64('filledSteps');
  const rows = new Array<RestingOrder>(table.rows);
  for (let i = 0; i < table.rows; i += 1) {
    rows[i] = {
      orderId: orderId[i]!,
      accountId: accountId[i]!,
      marketId: marketId[i]!,
      side: side[i]! as Side,
      priceTicks: priceTicks[i]!,
      remainingSteps: remainingSteps[i]!,
      filledSteps: filledSteps[i]!,
    };
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// The gateway's read models.



function encodeReadModels(state: Readonly<ReadModelsState>): object {
  const width = state.balances[0]?.units.length ?? 0;
  const fundingCount = state.fundingResults.length;
  const fundingSeq = new Float64Array(fundingCount);
  const fundingAvailable = new Float64Array(fundingCount);
  const fundingLocked = new Float64Array(fundingCount);
  state.fundingResults.forEach(([seq, available, locked], index) => {
    fundingSeq[index] = seq;
    fundingAvailable[index] = available;
    fundingLocked[index] = locked;
  });
  return {
    lastSeq: state.lastSeq,
    cancelRejects: state.cancelRejects,
    ...encodeOrders(state.orderColumns ?? orderColumnsOf(state.orders)),
    closedOrderIds: encodeNumberList(state.closedOrderIds),
    closedFillsDropped: state.closedFillsDropped,
    clientOrderIds: encodeClientOrderIds(state.clientOrderIds, 'readModels.clientOrderIds'),
    balanceAccounts: encodeAccountIds(state.balances, 'readModels.balanceAccounts'),
    balanceWidth: width,
    balanceUnits: encodeMatrix(state.balances.map((balance) => balance.units), width),
    fundingResults: new TableWriter(fundingCount, 'readModels.fundingResults')
      .f64('seq', fundingSeq)
      .f64('availableUnits', fundingAvailable)
      .f64('lockedUnits', fundingLocked)
      .table(),
    books: state.books.map((levels, index) => encodeLevels(levels, `readModels.books[${index}]`)),
    trades: state.trades.map((trades, index) => encodeTrades(trades, `readModels.trades[${index}]`)),
  };
}

function encodeOrders(orders: Readonly<OrderColumnsState>): { orders: EncodedTable; fillCounts: EncodedTable; fills: EncodedTable } {
  const count = orders.orderId.length;
  for (let i = 0; i < count; i += 1) {
    if (!(orders.status[i]! < ORDER_STATUS_CODES.length)) invariantBroken(`snapshot readModels.orders: order ${orders.orderId[i]} has a bad status code`);
  }
  const table = new TableWriter(count, 'readModels.orders')
    .f64('orderId', orders.orderId)
    .u32('accountId', orders.accountId, 0)
    .u32('marketId', orders.marketId, 0)
    .u8('side', orders.side, 0)
    .u8('orderType', orders.orderType, 0)
    .u8('timeInForce', orders.timeInForce, 0)
    .u8('postOnly', orders.postOnly, 0)
    .f64('priceTicks', orders.priceTicks)
    .f64('qtySteps', orders.qtySteps)
    .f64('quoteQtyUnits', orders.quoteQtyUnits)
    .str('clientOrderId', orders.clientOrderId)
    .f64('timestampMs', orders.timestampMs)
    .u8('status', orders.status, 0)
    .f64('filledSteps', orders.filledSteps)
    .f64('remainingSteps', orders.remainingSteps)
    .f64('closedSeq', orders.closedSeq)
    .table();
  const fills = new TableWriter(orders.fillTradeId.length, 'readModels.fills')
    .f64('tradeId', orders.fillTradeId)
    .f64('priceTicks', orders.fillPriceTicks)
    .f64('qtySteps', orders.fillQtySteps)
    .f64('makerOrderId', orders.fillMakerOrderId)
    .table();
  return { orders: table, fillCounts: new TableWriter(count, 'readModels.fillCounts').u32('count', orders.fillCount, 0).table(), fills };
}

function encodeLevels(levels: readonly (readonly [number, number])[], what: string): EncodedTable {
  const priceTicks = new Float64Array(levels.length);
  const qtySteps = new Float64Array(levels.length);
  levels.forEach(([price, qty], index) => {
    priceTicks[index] = price;
    qtySteps[index] = qty;
  });
  return new TableWriter(levels.length, what).f64('priceTicks', priceTicks).f64('qtySteps', qtySteps).table();
}

function encodeTrades(trades: readonly TradeRecord[], what: string): EncodedTable {
  const count = trades.length;
  const tradeId = new Float64Array(count);
  const priceTicks = new Float64Array(count);
  const qtySteps = new Float64Array(count);
  const takerSide = new Uint8Array(count);
  const seq = new Float64Array(count);
  const timestampMs = new Float64Array(count);
  let wrapped = 0;
  for (let i = 0; i < count; i += 1) {
    const trade = trades[i]!;
    tradeId[i] = trade.tradeId;
    priceTicks[i] = trade.priceTicks;
    qtySteps[i] = trade.qtySteps;
    takerSide[i] = trade.takerSide;
    if (takerSide[i] !== trade.takerSide) wrapped += 1;
    seq[i] = trade.seq;
    timestampMs[i] = trade.timestampMs;
  }
  return new TableWriter(count, what)
    .f64('tradeId', tradeId)
    .f64('priceTicks', priceTicks)
    .f64('qtySteps', qtySteps)
    .u8('takerSide', takerSide, wrapped)
    .f64('seq', seq)
    .f64('timestampMs', timestampMs)
    .table();
}

function decodeReadModels(encoded: unknown): ReadModelsState {
  const state = expectObject(encoded, 'readModels');
  const balanceAccounts = new TableReader(state['balanceAccounts'], 'readModels.balanceAccounts');
  const balanceAccountIds = balanceAccounts.u32('accountId');
  const width = expectNumber(state['balanceWidth'], 'readModels.balanceWidth');
  const units = decodeMatrix(state['balanceUnits'], balanceAccounts.rows, width, 'readModels.balanceUnits');
  const funding = new TableReader(state['fundingResults'], 'readModels.fundingResults');
  const fundingSeq = funding.f64('seq');
  const fundingAvailable = funding.f64('availableUnits');
  const fundingLocked = funding.f64('lockedUnits');
  const fundingResults = new Array<[number, number, number]>(funding.rows);
  for (let i = 0; i < funding.rows; i += 1) fundingResults[i] = [fundingSeq[i]!, fundingAvailable[i]!, fundingLocked[i]!];
  return {
    lastSeq: expectNumber(state['lastSeq'], 'readModels.lastSeq'),
    cancelRejects: expectNumber(state['cancelRejects'], 'readModels.cancelRejects'),
    orders: [],
    orderColumns: decodeOrders(state['orders'], state['fillCounts'], state['fills']),
    closedOrderIds: decodeNumberList(state['closedOrderIds'], 'readModels.closedOrderIds'),
    closedFillsDropped: expectNumber(state['closedFillsDropped'], 'readModels.closedFillsDropped'),
    clientOrderIds: decodeClientOrderIds(state['clientOrderIds'], 'readModels.clientOrderIds'),
    balances: units.map((row, index) => ({ accountId: balanceAccountIds[index]!, units: row })),
    fundingResults,
    books: expectArray(state['books'], 'readModels.books').map((table, index) => decodeLevels(table, `readModels.books[${index}]`)),
    trades: expectArray(state['trades'], 'readModels.trades').map((table, index) => decodeTrades(table, `readModels.trades[${index}]`)),
  };
}


/** The read models' orders as columns (no object per order or fill); ReadModels.restoreState checks every row. */
function decodeOrders(encodedOrders: unknown, encodedCounts: unknown, encodedFills: unknown): OrderColumnsState {
  const table = new TableReader(encodedOrders, 'readModels.orders');
  const counts = new TableReader(encodedCounts, 'readModels.fillCounts');
  checkFormat(counts.rows === table.rows, () => 'readModels.fillCounts: one per order');
  const fills = new TableReader(encodedFills, 'readModels.fills');
  const orders: OrderColumnsState = {
    orderId: table.f64('orderId'),
    accountId: table.u32('accountId'),
    marketId: table.u32('marketId'),
    side: table.u8('side'),
    orderType: table.u8('orderType'),
    timeInForce: table.u8('timeInForce'),
    postOnly: table.bool('postOnly'),
    priceTicks: table.f64('priceTicks'),
    qtySteps: table.f64('qtySteps'),
    quoteQtyUnits: table.f64('quoteQtyUnits'),
    clientOrderId: table.str('clientOrderId'),
    timestampMs: table.f64('timestampMs'),
    status: table.u8('status'),
    filledSteps: table.f64('filledSteps'),
    remainingSteps: table.f64('remainingSteps'),
    closedSeq: table.f64('closedSeq'),
    fillCount: counts.u32('count'),
    fillTradeId: fills.f64('tradeId'),
    fillPriceTicks: fills.f64('priceTicks'),
    fillQtySteps: fills.f64('qtySteps'),
    fillMakerOrderId: fills.f64('makerOrderId'),
  };
  let total = 0;
  for (let i = 0; i < table.rows; i += 1) {
    const count = orders.fillCount[i]!;
    if (count !== FILLS_DROPPED) total += count;
    checkFormat(orders.status[i]! < ORDER_STATUS_CODES.length, () => `readModels.orders: bad status code ${orders.status[i]}`);
  }
  checkFormat(total <= fills.rows, () => 'readModels.fills: fewer than the counts say');
  checkFormat(total >= fills.rows, () => 'readModels.fills: more than the counts say');
  return orders;
}

function decodeLevels(encoded: unknown, what: string): [number, number][] {
  const table = new TableReader(encoded, what);
  const priceTicks = table.f64('priceTicks');
  const qtySteps = table.f64('qtySteps');
  const rows = new Array<[number, number]>(table.rows);
  for (let i = 0; i < table.rows; i += 1) rows[i] = [priceTicks[i]!, qtySteps[i]!];
  return rows;
}

function decodeTrades(encoded: unknown, what: string): TradeRecord[] {
  const table = new TableReader(encoded, what);
  const tradeId = table.f64('tradeId');
  const priceTicks = table.f64('priceTicks');
  const qtySteps = table.f64('qtySteps');
  const takerSide = table.u8('takerSide');
  const seq = table.f64('seq');
  const timestampMs = table.f64('timestampMs');
  const rows = new Array<TradeRecord>(table.rows);
  for (let i = 0; i < table.rows; i += 1) {
    rows[i] = {
      tradeId: tradeId[i]!,
      priceTicks: priceTicks[i]!,
      qtySteps: qtySteps[i]!,
      takerSide: takerSide[i]! as Side,
      seq: seq[i]!,
      timestampMs: timestampMs[i]!,
    };
  }
  return rows;
}
