/**
 * The sequencer: the one place that decides whether a command enters the system.
 *
 * It sits between the gateway and the write-ahead log. It gives every accepted command a gap-free
 * `seq` (also the orderId of a place) and a timestamp that never decreases, and it runs the balance
 * pre-check against its own *spendable* view of each (account, asset): accepting a withdrawal or an
 * order takes the reservation from that view at once, so two commands can never spend the same funds.
 * The settlement ledger is the authority on balances; every credit it makes (deposits, fill proceeds,
 * releases) flows back through `credit()`, so the spendable view only ever lags on the safe side.
 *
 * Rejected commands get no seq and change nothing. Recovery feeds the WAL through `replay()`, which
 * applies exactly what `submit()` applied. Pure: no I/O, no clock (the shell passes `nowMs`), no threads.
 */
import { assert, invariantBroken } from '../domain/assert.ts';
import type { Command } from '../domain/commands.ts';
import {
  ACCOUNT_ID_MAX,
  CLIENT_ORDER_ID_LENGTH_MAX,
  CLIENT_ORDER_ID_PATTERN,
  CommandType,
  OrderType,
  Side,
  TimeInForce,
  isClientOrderIdChar,
  reservationUnits,
  reservedAssetId,
} from '../domain/commands.ts';
import { UNITS_MAX } from '../domain/fixed_point.ts';
import { ABSENT, IdTable } from '../domain/id_table.ts';
import type { ClientOrderIdColumns, ClientOrderIdImage } from './client_order_id_table.ts';
import { ClientOrderIdTable } from './client_order_id_table.ts';
import type { CoreLimits } from '../domain/limits.ts';
import { validateCoreLimits } from '../domain/limits.ts';
import type { Market, MarketSet } from '../domain/markets.ts';
import { notionalInRange } from '../domain/markets.ts';
import { REJECT_INFO, RejectCode } from '../domain/reject_codes.ts';

/** Entries of the cache of known account ids that checks restored clientOrderIds (a power of two). */
const KNOWN_ACCOUNTS_CACHE_SIZE = 4096;

/** A plain, JSON-able copy of the sequencer's state, for snapshots. */
export interface SequencerState {
  nextSeq: number;
  lastTimestampMs: number;
  /** Per asset id: Σ accepted deposits − Σ accepted withdrawals. */
  supplyUnits: number[];
  /** In the order the accounts were created; `spendableUnits` is indexed by asset id. */
  accounts: { accountId: number; spendableUnits: number[] }[];
  /** Orders the sequencer still considers open, as [orderId, accountId], in acceptance order. */
  openOrders: [number, number][];
  /** Remembered (accountId, clientOrderId) → orderId, oldest first (the next to be forgotten). */
  clientOrderIds: [number, string, number][];
  /**
   * The same pairs as columns (snapshots: a million of them restore as byte runs, with no string or
   * array per pair). When present, `clientOrderIds` is empty.
   */
  clientOrderIdColumns?: ClientOrderIdColumns;
  /**
   * Or the table itself, for a thread of the same process (the pipeline's sequencer worker after
   * recovery): adopted as is, not rebuilt. Never in a snapshot. When present, `clientOrderIds` is empty.
   */
  clientOrderIdImage?: ClientOrderIdImage;
}

export class Sequencer {
  /** Set by `submit` when it returns DuplicateClientOrderId: the id of the earlier order (else 0). */
  duplicateOrderId = 0;

  private readonly markets: readonly Market[];
  private readonly assetCount: number;
  private readonly limits: Readonly<CoreLimits>;

  private nextSeqValue: number;
  private lastTimestampValue = 0;
  private readonly supplyUnits: Float64Array;

  private readonly accountIndexById: IdTable;
  /** accountIds[index]: the id of the account at `index`, indexes given in creation order. */
  private readonly accountIds: Uint32Array;
  private accountCountValue = 0;
  /** spendable[index × assetCount + assetId]. Float64 holds every integer up to UNITS_MAX exactly. */
  private readonly spendable: Float64Array;

  /** orderId → accountId for every order accepted and not yet reported closed by settlement. */
  private readonly openOrders: IdTable;
  /** (accountId, clientOrderId) → orderId, a FIFO ring: the oldest pair is forgotten first, deterministically. */
  /** Replaced only by a restore that adopts an image of another thread's table. */
  private clientOrderIds: ClientOrderIdTable;

  // What the pre-check of a command found, for `apply` of the same command right after it (submit
  // and replay call them back to back), so that an accepted command's account, reservation and
  // order are looked up once: `checkedCommand` is the command they belong to.
  private checkedCommand: Readonly<Command> | null = null;
  private checkedAccountIndex = 0;
  private checkedReservationUnits = 0;
  /** The bucket of `openOrders` where a cancel found its order: the hint for `orderClosed`. */
  private cancelledOrderBucket = -1;

  constructor(marketSet: MarketSet, limits: CoreLimits, nextSeq = 1) {
    const limitErrors = validateCoreLimits(limits);
    if (!(limitErrors.length === 0)) invariantBroken(`Sequencer: invalid limits: ${limitErrors.join('; ')}`);
    assert(Number.isSafeInteger(nextSeq), 'Sequencer: nextSeq must be an integer');
    assert(nextSeq >= 1, 'Sequencer: nextSeq must be at least 1');
    marketSet.markets.forEach((market, id) => assert(market.id === id, 'Sequencer: market ids must equal their index'));
    marketSet.assets.forEach((asset, id) => assert(asset.id === id, 'Sequencer: asset ids must equal their index'));
    this.markets = marketSet.markets;
    this.assetCount = marketSet.assets.length;
    this.limits = Object.freeze({ ...limits });
    this.nextSeqValue = nextSeq;
    this.supplyUnits = new Float64Array(this.assetCount);
    this.accountIds = new Uint32Array(limits.accountsMax);
    this.spendable = new Float64Array(limits.accountsMax * this.assetCount);
    this.accountIndexById = new IdTable(limits.accountsMax, 'accountsMax');
    this.openOrders = new IdTable(limits.ordersOpenMax, 'ordersOpenMax', 'sequential', 'bucket-scan');
    this.clientOrderIds = new ClientOrderIdTable(limits.clientOrderIdsMax);
  }

  get nextSeq(): number {
    return this.nextSeqValue;
  }

  get lastTimestampMs(): number {
    return this.lastTimestampValue;
  }

  get accountCount(): number {
    return this.accountCountValue;
  }

  get openOrderCount(): number {
    return this.openOrders.size;
  }

  get clientOrderIdCount(): number {
    return this.clientOrderIds.size;
  }

  /**
   * Pre-checks a command from the gateway. On acceptance stamps `seq` and `timestampMs`, takes the
   * reservation and returns RejectCode.None; otherwise returns the reason and changes nothing.
   */
  submit(command: Command, nowMs: number): RejectCode {
    assert(Number.isSafeInteger(nowMs), 'Sequencer.submit: nowMs must be an integer');
    assert(nowMs >= 0, 'Sequencer.submit: nowMs must not be negative');
    this.duplicateOrderId = 0;
    this.checkedCommand = null;
    const code = this.check(command, false);
    if (code !== RejectCode.None) return code;
    command.seq = this.nextSeqValue;
    command.timestampMs = Math.max(nowMs, this.lastTimestampValue);
    this.apply(command);
    return RejectCode.None;
  }

  /**
   * Recovery: applies a command that was sequenced before, read back from the WAL. It must be the
   * next seq and it must pass the pre-check, because replay delivers every credit before the next
   * command while live operation may deliver them later: replay never sees less spendable than live.
   */
  replay(command: Readonly<Command>): void {
    if (command.seq !== this.nextSeqValue) invariantBroken(`Sequencer.replay: seq ${command.seq}, expected ${this.nextSeqValue}`);
    if (!Number.isSafeInteger(command.timestampMs)) invariantBroken(`Sequencer.replay: seq ${command.seq} has a bad timestamp`);
    if (!(command.timestampMs >= this.lastTimestampValue)) invariantBroken(`Sequencer.replay: seq ${command.seq} timestamp ${command.timestampMs} before ${this.lastTimestampValue}`);
    this.checkedCommand = null;
    const code = this.check(command, true);
    if (code !== RejectCode.None) invariantBroken(`Sequencer.replay: seq ${command.seq} fails the pre-check: ${REJECT_INFO[code].code}`);
    this.apply(command);
  }

  /** Settlement made `amountUnits` available to the account (deposit, proceeds, release). */
  credit(accountId: number, assetId: number, amountUnits: number): void {
    const index = this.accountIndexById.get(accountId);
    if (index === ABSENT) invariantBroken(`Sequencer.credit: unknown account ${accountId}`);
    if (!(this.isAssetId(assetId))) invariantBroken(`Sequencer.credit: unknown asset ${assetId}`);
    if (!Number.isSafeInteger(amountUnits)) invariantBroken(`Sequencer.credit: amount ${amountUnits} is not an integer`);
    if (!(amountUnits > 0)) invariantBroken(`Sequencer.credit: amount ${amountUnits} must be positive`);
    const slot = index * this.assetCount + assetId;
    const spendable = (this.spendable[slot] as number) + amountUnits;
    // Spendable never exceeds the ledger's balance, which never exceeds the asset's supply.
    if (!(spendable <= this.supplyUnits[assetId]!)) invariantBroken(`Sequencer.credit: account ${accountId} spendable above supply`);
    this.spendable[slot] = spendable;
  }

  /** Settlement removed the order from the book for good: it is no longer a cancel target. */
  orderClosed(orderId: number): void {
    // A cancel's close comes back within the same command: its order is where checkCancel found it.
    if (!(this.openOrders.deleteHinted(orderId, this.cancelledOrderBucket))) invariantBroken(`Sequencer.orderClosed: order ${orderId} is not open`);
  }

  spendableUnits(accountId: number, assetId: number): number {
    const index = this.accountIndexById.get(accountId);
    if (index === ABSENT || !this.isAssetId(assetId)) return 0;
    return this.spendable[index * this.assetCount + assetId] as number;
  }

  hasAccount(accountId: number): boolean {
    return this.accountIndexById.has(accountId);
  }

  isOrderOpen(orderId: number): boolean {
    return this.openOrders.has(orderId);
  }

  /** The orderId an (accountId, clientOrderId) pair was accepted as; 0 when unknown or forgotten. */
  orderIdForClientOrderId(accountId: number, clientOrderId: string): number {
    if (clientOrderId === '') return 0;
    return this.clientOrderIds.get(accountId, clientOrderId);
  }

  /** Visits every (account, asset) spendable amount, accounts in ascending id order, assets in id order. */
  forEachSpendable(fn: (accountId: number, assetId: number, spendableUnits: number) => void): void {
    for (const [accountId, index] of this.accountIndexById.sortedEntries()) {
      const base = index * this.assetCount;
      for (let assetId = 0; assetId < this.assetCount; assetId += 1) fn(accountId, assetId, this.spendable[base + assetId]!);
    }
  }

  /**
   * `clientOrderIdColumns`: the clientOrderId pairs as columns (snapshots) rather than rows;
   * `clientOrderIdImage`: as an image of the table (another thread of this process).
   */
  exportState(options: { clientOrderIdColumns?: boolean; clientOrderIdImage?: boolean } = {}): SequencerState {
    assert(!(options.clientOrderIdColumns === true && options.clientOrderIdImage === true), 'Sequencer.exportState: columns or an image, not both');
    const rows = options.clientOrderIdColumns !== true && options.clientOrderIdImage !== true;
    const accounts: SequencerState['accounts'] = [];
    for (let index = 0; index < this.accountCountValue; index += 1) {
      const base = index * this.assetCount;
      accounts.push({
        accountId: this.accountIds[index]!,
        spendableUnits: Array.from(this.spendable.subarray(base, base + this.assetCount)),
      });
    }
    const state: SequencerState = {
      nextSeq: this.nextSeqValue,
      lastTimestampMs: this.lastTimestampValue,
      supplyUnits: Array.from(this.supplyUnits),
      accounts,
      openOrders: this.openOrders.sortedEntries(),
      clientOrderIds: rows ? this.clientOrderIds.rows() : [],
    };
    if (options.clientOrderIdColumns === true) state.clientOrderIdColumns = this.clientOrderIds.exportColumns();
    if (options.clientOrderIdImage === true) state.clientOrderIdImage = this.clientOrderIds.exportImage();
    return state;
  }

  static fromState(marketSet: MarketSet, limits: CoreLimits, state: SequencerState): Sequencer {
    const sequencer = new Sequencer(marketSet, limits, state.nextSeq);
    sequencer.restore(state);
    return sequencer;
  }

  // ---------------------------------------------------------------------------------------------
  // Pre-check: decides, changes nothing (except `duplicateOrderId`).

  private check(command: Readonly<Command>, replaying: boolean): RejectCode {
    switch (command.type) {
      case CommandType.Deposit:
        return this.checkDeposit(command);
      case CommandType.Withdraw:
        return this.checkWithdraw(command);
      case CommandType.Place:
        return this.checkPlace(command);
      case CommandType.Cancel:
        return this.checkCancel(command, replaying);
      default:
        return RejectCode.Validation;
    }
  }

  private checkDeposit(command: Readonly<Command>): RejectCode {
    if (!isAccountId(command.accountId)) return RejectCode.Validation;
    if (!this.isAssetId(command.assetId)) return RejectCode.UnknownAsset;
    const amountCode = checkAmountUnits(command.amountUnits);
    if (amountCode !== RejectCode.None) return amountCode;
    // Bounding each asset's supply keeps every balance, and every sum of balances, exact.
    if (command.amountUnits > UNITS_MAX - this.supplyUnits[command.assetId]!) return RejectCode.AmountTooLarge;
    const isNew = !this.accountIndexById.has(command.accountId);
    if (isNew && this.accountCountValue >= this.limits.accountsMax) return RejectCode.TooManyAccounts;
    return RejectCode.None;
  }

  private checkWithdraw(command: Readonly<Command>): RejectCode {
    if (!this.isAssetId(command.assetId)) return RejectCode.UnknownAsset;
    const amountCode = checkAmountUnits(command.amountUnits);
    if (amountCode !== RejectCode.None) return amountCode;
    const index = this.accountIndexById.get(command.accountId);
    if (index === ABSENT) return RejectCode.AccountNotFound;
    if (this.spendable[index * this.assetCount + command.assetId]! < command.amountUnits) {
      return RejectCode.InsufficientBalance;
    }
    return RejectCode.None;
  }

  private checkPlace(command: Readonly<Command>): RejectCode {
    const market = this.marketOf(command.marketId);
    if (market === undefined) return RejectCode.UnknownMarket;
    const index = this.accountIndexById.get(command.accountId);
    if (index === ABSENT) return RejectCode.AccountNotFound;
    const shapeCode = checkPlaceShape(market, command);
    if (shapeCode !== RejectCode.None) return shapeCode;
    if (command.clientOrderId !== '') {
      // The table remembers this lookup's hash, so the insert of an accepted order does not hash again.
      const earlierOrderId = this.clientOrderIds.get(command.accountId, command.clientOrderId);
      if (earlierOrderId !== 0) {
        this.duplicateOrderId = earlierOrderId;
        return RejectCode.DuplicateClientOrderId;
      }
    }
    if (this.openOrders.size >= this.limits.ordersOpenMax) return RejectCode.TooManyOpenOrders;
    const slot = index * this.assetCount + reservedAssetId(market, command.side);
    const units = reservationUnits(market, command);
    if (this.spendable[slot]! < units) return RejectCode.InsufficientBalance;
    this.checkedCommand = command;
    this.checkedAccountIndex = index;
    this.checkedReservationUnits = units;
    return RejectCode.None;
  }

  private checkCancel(command: Readonly<Command>, replaying: boolean): RejectCode {
    const bucket = this.openOrders.find(command.orderId);
    this.cancelledOrderBucket = bucket;
    if (bucket >= 0) {
      return this.openOrders.valueAt(bucket) === command.accountId ? RejectCode.None : RejectCode.OrderNotFound;
    }
    // Live, a cancel can be accepted while the order's close is still on its way back from
    // settlement (matching then answers with a cancel reject). Replay delivers that close first,
    // so there a cancel of an already placed order that is no longer open is legitimate.
    if (replaying && Number.isSafeInteger(command.orderId) && command.orderId >= 1 && command.orderId < this.nextSeqValue) {
      return RejectCode.None;
    }
    return RejectCode.OrderNotFound;
  }

  // ---------------------------------------------------------------------------------------------
  // State changes of an accepted command (submit and replay share them).

  private apply(command: Readonly<Command>): void {
    assert(command.seq === this.nextSeqValue, 'Sequencer.apply: seq out of order');
    assert(command.seq < UNITS_MAX, 'Sequencer.apply: seq range exhausted');
    switch (command.type) {
      case CommandType.Deposit:
        this.applyDeposit(command);
        break;
      case CommandType.Withdraw:
        this.applyWithdraw(command);
        break;
      case CommandType.Place:
        this.applyPlace(command);
        break;
      case CommandType.Cancel:
        break; // Reserves nothing: the ledger releases when the order's Cancelled event arrives.
    }
    this.nextSeqValue = command.seq + 1;
    this.lastTimestampValue = command.timestampMs;
  }

  private applyDeposit(command: Readonly<Command>): void {
    if (!this.accountIndexById.has(command.accountId)) this.createAccount(command.accountId);
    // The spendable view is credited when settlement reports the deposit back, like every credit.
    this.supplyUnits[command.assetId] = this.supplyUnits[command.assetId]! + command.amountUnits;
  }

  private applyWithdraw(command: Readonly<Command>): void {
    const slot = this.accountIndexById.get(command.accountId) * this.assetCount + command.assetId;
    this.spendable[slot] = this.spendable[slot]! - command.amountUnits;
    this.supplyUnits[command.assetId] = this.supplyUnits[command.assetId]! - command.amountUnits;
    assert(this.spendable[slot]! >= 0, 'Sequencer.applyWithdraw: negative spendable');
  }

  private applyPlace(command: Readonly<Command>): void {
    assert(this.checkedCommand === command, 'Sequencer.applyPlace: the place was not the command just checked');
    const market = this.markets[command.marketId]!;
    const slot = this.checkedAccountIndex * this.assetCount + reservedAssetId(market, command.side);
    this.spendable[slot] = this.spendable[slot]! - this.checkedReservationUnits;
    this.checkedCommand = null;
    assert(this.spendable[slot]! >= 0, 'Sequencer.applyPlace: negative spendable');
    assert(this.openOrders.size < this.limits.ordersOpenMax, 'Sequencer.applyPlace: too many open orders');
    this.openOrders.insert(command.seq, command.accountId);
    // When full, the table forgets its oldest pair first.
    if (command.clientOrderId !== '') this.clientOrderIds.insert(command.accountId, command.clientOrderId, command.seq);
  }

  private createAccount(accountId: number): number {
    assert(this.accountCountValue < this.limits.accountsMax, 'Sequencer: too many accounts');
    if (!(isAccountId(accountId))) invariantBroken(`Sequencer: bad account id ${accountId}`);
    const index = this.accountCountValue;
    this.accountCountValue += 1;
    this.accountIds[index] = accountId;
    this.accountIndexById.insert(accountId, index);
    return index;
  }

  private marketOf(marketId: number): Market | undefined {
    if (!Number.isInteger(marketId) || marketId < 0) return undefined;
    return this.markets[marketId];
  }

  private isAssetId(assetId: number): boolean {
    return Number.isInteger(assetId) && assetId >= 0 && assetId < this.assetCount;
  }

  private restore(state: SequencerState): void {
    assert(Number.isSafeInteger(state.lastTimestampMs), 'Sequencer.fromState: bad lastTimestampMs');
    assert(state.lastTimestampMs >= 0, 'Sequencer.fromState: negative lastTimestampMs');
    this.lastTimestampValue = state.lastTimestampMs;
    assert(state.supplyUnits.length === this.assetCount, 'Sequencer.fromState: supplyUnits length');
    state.supplyUnits.forEach((units, assetId) => {
      if (!(isUnits(units))) invariantBroken(`Sequencer.fromState: bad supply of asset ${assetId}`);
      this.supplyUnits[assetId] = units;
    });
    assert(state.accounts.length <= this.limits.accountsMax, 'Sequencer.fromState: more accounts than accountsMax');
    for (const account of state.accounts) {
      if (!(!this.accountIndexById.has(account.accountId))) invariantBroken(`Sequencer.fromState: account ${account.accountId} twice`);
      const base = this.createAccount(account.accountId) * this.assetCount;
      assert(account.spendableUnits.length === this.assetCount, 'Sequencer.fromState: spendableUnits length');
      account.spendableUnits.forEach((units, assetId) => {
        if (!(isUnits(units))) invariantBroken(`Sequencer.fromState: bad spendable of account ${account.accountId}`);
        if (!(units <= this.supplyUnits[assetId]!)) invariantBroken(`Sequencer.fromState: account ${account.accountId} spendable above supply`);
        this.spendable[base + assetId] = units;
      });
    }
    assert(state.openOrders.length <= this.limits.ordersOpenMax, 'Sequencer.fromState: more open orders than ordersOpenMax');
    for (const [orderId, accountId] of state.openOrders) {
      if (!(this.isPastSeq(orderId))) invariantBroken(`Sequencer.fromState: open order ${orderId} out of range`);
      if (!(isAccountId(accountId) && this.accountIndexById.has(accountId))) invariantBroken(`Sequencer.fromState: open order ${orderId} of unknown account`);
      if (!(!this.openOrders.has(orderId))) invariantBroken(`Sequencer.fromState: open order ${orderId} twice`);
      this.openOrders.insert(orderId, accountId);
    }
    this.restoreClientOrderIds(state);
  }

  private restoreClientOrderIds(state: SequencerState): void {
    const image = state.clientOrderIdImage;
    if (image !== undefined) {
      assert(state.clientOrderIds.length === 0 && state.clientOrderIdColumns === undefined, 'Sequencer.fromState: clientOrderIds as an image and otherwise');
      assert(this.clientOrderIds.size === 0, 'Sequencer.fromState: the clientOrderId table is not empty');
      // Built and checked by this very code in this process (recovery): adopted, not re-verified.
      this.clientOrderIds = new ClientOrderIdTable(this.limits.clientOrderIdsMax, image);
      return;
    }
    const columns = state.clientOrderIdColumns;
    const count = columns === undefined ? state.clientOrderIds.length : columns.accountIds.length;
    assert(count <= this.limits.clientOrderIdsMax, 'Sequencer.fromState: too many clientOrderIds');
    if (columns !== undefined) {
      assert(state.clientOrderIds.length === 0, 'Sequencer.fromState: clientOrderIds as rows and as columns');
      this.checkClientOrderIdColumns(columns);
      this.clientOrderIds.restoreColumns(columns);
      return;
    }
    for (const [accountId, clientOrderId, orderId] of state.clientOrderIds) {
      if (!(CLIENT_ORDER_ID_PATTERN.test(clientOrderId))) invariantBroken(`Sequencer.fromState: bad clientOrderId "${clientOrderId}"`);
      this.checkClientOrderIdPair(accountId, orderId);
      if (this.clientOrderIds.get(accountId, clientOrderId) !== 0) invariantBroken(`Sequencer.fromState: clientOrderId ${accountId}:${clientOrderId} twice`);
      this.clientOrderIds.insert(accountId, clientOrderId, orderId);
    }
  }

  /**
   * The rows' orderIds and accounts, column by column. A million rows name far fewer accounts, so
   * the accounts found are remembered in a small direct-mapped cache (of known ids only: a miss
   * just asks the account table), which keeps the check in L1 instead of a hash lookup per row.
   */
  private checkClientOrderIdColumns(columns: Readonly<ClientOrderIdColumns>): void {
    const { accountIds, orderIds } = columns;
    for (let row = 0; row < orderIds.length; row += 1) {
      if (!(this.isPastSeq(orderIds[row]!))) invariantBroken(`Sequencer.fromState: clientOrderId order ${orderIds[row]} out of range`);
    }
    const known = new Uint32Array(KNOWN_ACCOUNTS_CACHE_SIZE);
    for (let row = 0; row < accountIds.length; row += 1) {
      const accountId = accountIds[row]!;
      const slot = accountId & (KNOWN_ACCOUNTS_CACHE_SIZE - 1);
      // 0 is never an account id, so the cache's initial zeros mean nothing known (and IdTable
      // takes 0 for its empty-bucket mark: it must not be asked about 0).
      if (known[slot] === accountId && accountId !== 0) continue;
      if (!(isAccountId(accountId) && this.accountIndexById.has(accountId))) invariantBroken(`Sequencer.fromState: clientOrderId of unknown account ${accountId}`);
      known[slot] = accountId;
    }
  }

  private checkClientOrderIdPair(accountId: number, orderId: number): void {
    if (!(isAccountId(accountId) && this.accountIndexById.has(accountId))) invariantBroken(`Sequencer.fromState: clientOrderId of unknown account ${accountId}`);
    if (!(this.isPastSeq(orderId))) invariantBroken(`Sequencer.fromState: clientOrderId order ${orderId} out of range`);
  }

  private isPastSeq(seq: number): boolean {
    return Number.isSafeInteger(seq) && seq >= 1 && seq < this.nextSeqValue;
  }
}

function isAccountId(accountId: number): boolean {
  return Number.isInteger(accountId) && accountId >= 1 && accountId <= ACCOUNT_ID_MAX;
}

function isUnits(units: number): boolean {
  return Number.isSafeInteger(units) && units >= 0;
}

/** CLIENT_ORDER_ID_PATTERN's test, character by character (the regex call costs more than the loop). */
function isClientOrderId(text: string): boolean {
  const length = text.length;
  if (length < 1 || length > CLIENT_ORDER_ID_LENGTH_MAX) return false;
  for (let at = 0; at < length; at += 1) if (!isClientOrderIdChar(text.charCodeAt(at))) return false;
  return true;
}

/** A deposit or withdrawal amount: a positive integer no larger than UNITS_MAX. */
function checkAmountUnits(amountUnits: number): RejectCode {
  if (!Number.isInteger(amountUnits) || amountUnits <= 0) return RejectCode.Validation;
  if (amountUnits > UNITS_MAX) return RejectCode.AmountTooLarge;
  return RejectCode.None;
}

/**
 * The gateway validates orders already; this is the safety net for every other caller, so that
 * nothing the core computes from an accepted order can leave the exact integer range.
 */
function checkPlaceShape(market: Market, command: Readonly<Command>): RejectCode {
  if (command.side !== Side.Buy && command.side !== Side.Sell) return RejectCode.Validation;
  const tif = command.timeInForce;
  if (tif !== TimeInForce.GTC && tif !== TimeInForce.IOC && tif !== TimeInForce.FOK) return RejectCode.Validation;
  if (typeof command.postOnly !== 'boolean') return RejectCode.Validation;
  if (command.clientOrderId !== '' && !isClientOrderId(command.clientOrderId)) return RejectCode.Validation;
  if (command.orderType === OrderType.Limit) return checkLimitShape(market, command);
  if (command.orderType !== OrderType.Market) return RejectCode.Validation;
  return command.side === Side.Sell ? checkMarketSellShape(market, command) : checkMarketBuyShape(command);
}

function checkLimitShape(market: Market, command: Readonly<Command>): RejectCode {
  if (!Number.isInteger(command.priceTicks) || command.quoteQtyUnits !== 0) return RejectCode.Validation;
  if (command.priceTicks < 1) return RejectCode.InvalidPrice;
  if (command.priceTicks > market.priceTicksMax) return RejectCode.AmountTooLarge;
  const qtyCode = checkQtySteps(market, command.qtySteps);
  if (qtyCode !== RejectCode.None) return qtyCode;
  if (!notionalInRange(market, command.priceTicks, command.qtySteps)) return RejectCode.AmountTooLarge;
  return RejectCode.None;
}

function checkMarketSellShape(market: Market, command: Readonly<Command>): RejectCode {
  if (command.priceTicks !== 0 || command.quoteQtyUnits !== 0) return RejectCode.Validation;
  return checkQtySteps(market, command.qtySteps);
}

function checkMarketBuyShape(command: Readonly<Command>): RejectCode {
  if (command.priceTicks !== 0 || command.qtySteps !== 0) return RejectCode.Validation;
  if (!Number.isInteger(command.quoteQtyUnits)) return RejectCode.Validation;
  if (command.quoteQtyUnits <= 0) return RejectCode.InvalidQty;
  if (command.quoteQtyUnits > UNITS_MAX) return RejectCode.AmountTooLarge;
  return RejectCode.None;
}

function checkQtySteps(market: Market, qtySteps: number): RejectCode {
  if (!Number.isInteger(qtySteps)) return RejectCode.Validation;
  if (qtySteps < market.minQtySteps) return RejectCode.InvalidQty;
  if (qtySteps > market.qtyStepsMax) return RejectCode.AmountTooLarge;
  return RejectCode.None;
}
