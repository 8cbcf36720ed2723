/**
 * The history against the log: after a crash (and before the restart) every record of the WAL is
 * read back and matched to the requests the clients sent.
 *
 * - Every acknowledged command is in the log, exactly as it was sent (nothing acknowledged is lost).
 * - Every record the clients were not told about matches one request that was in flight when the
 *   server died (nothing is invented), and is then known: an order a client may now look up, a
 *   deposit or withdrawal that counts towards the balances.
 * - No (account, clientOrderId) is placed twice in the whole log.
 *
 * Reading uses the project's own verifying reader (checksums, chain, gap-free seqs), read-only: a
 * torn tail is reported, not cut; the server cuts it when it starts.
 */
import type { Command } from '../../../src/domain/commands.ts';
import { CommandType, OrderType, Side, TimeInForce } from '../../../src/domain/commands.ts';
import { readRecords } from '../../../src/wal/wal_reader.ts';
import type { TornTail } from '../../../src/wal/wal_reader.ts';
import type { ExchangeModel, FundingOp, PlaceBody, PlaceOp } from './model.ts';
import { clientKey, noBounds } from './model.ts';
import type { AssetSymbol } from './units.ts';
import { ASSET_DECIMALS, ASSETS, assetId, marketInfo, priceTicks, qtySteps, toUnits } from './units.ts';

export interface WalCheck {
  /** Seq of the last valid record (what the restarted server must report). */
  lastSeq: number;
  records: number;
  tornTail: TornTail | null;
  /** (account, clientOrderId) → seq of its one place record, over the whole log. */
  keyToSeq: Map<string, number>;
  /** Seqs of the place records after `fromSeq`: the orders to look up after the restart. */
  newPlaceSeqs: number[];
  /** In-flight requests found in the log (applied although never answered). */
  inFlightApplied: { places: number; funding: number; cancels: number };
  /** In-flight requests not in the log (never applied). */
  inFlightAbsent: number;
}

interface ExpectedPlace {
  accountId: number;
  marketId: number;
  side: number;
  orderType: number;
  timeInForce: number;
  postOnly: boolean;
  priceTicks: number;
  qtySteps: number;
  quoteQtyUnits: number;
  clientOrderId: string;
}

const TIF: Readonly<Record<string, number>> = { GTC: TimeInForce.GTC, IOC: TimeInForce.IOC, FOK: TimeInForce.FOK };

export function expectedPlace(body: PlaceBody): ExpectedPlace {
  const market = marketInfo(body.symbol);
  return {
    accountId: body.accountId,
    marketId: market.marketId,
    side: body.side === 'buy' ? Side.Buy : Side.Sell,
    orderType: body.type === 'limit' ? OrderType.Limit : OrderType.Market,
    timeInForce: body.type === 'market' ? TimeInForce.IOC : TIF[body.timeInForce ?? 'GTC']!,
    postOnly: body.postOnly === true,
    priceTicks: body.price === undefined ? 0 : priceTicks(market, body.price),
    qtySteps: body.qty === undefined ? 0 : qtySteps(market, body.qty),
    quoteQtyUnits: body.quoteQty === undefined ? 0 : Number(toUnits(body.quoteQty, ASSET_DECIMALS[market.quote])),
    clientOrderId: body.clientOrderId ?? '',
  };
}

function placeOfRecord(command: Readonly<Command>): ExpectedPlace {
  return {
    accountId: command.accountId,
    marketId: command.marketId,
    side: command.side,
    orderType: command.orderType,
    timeInForce: command.timeInForce,
    postOnly: command.postOnly,
    priceTicks: command.priceTicks,
    qtySteps: command.qtySteps,
    quoteQtyUnits: command.quoteQtyUnits,
    clientOrderId: command.clientOrderId,
  };
}

function samePlace(a: ExpectedPlace, b: ExpectedPlace): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function fundingMatches(op: FundingOp, command: Readonly<Command>): boolean {
  const type = op.kind === 'deposit' ? CommandType.Deposit : CommandType.Withdraw;
  return (
    command.type === type &&
    command.accountId === op.accountId &&
    command.assetId === assetId(op.asset) &&
    BigInt(command.amountUnits) === toUnits(op.amount, ASSET_DECIMALS[op.asset])
  );
}

/**
 * Matches the log under `dataDir` against the model; records after `fromSeq` are this cycle's.
 * Violations go to the model; what was learned (in-flight commands that made it) too.
 */
export function checkWal(model: ExchangeModel, dataDir: string, fromSeq: number): WalCheck {
  const inFlightPlaces = model.cycle.inFlight.filter((op): op is PlaceOp => op.kind === 'place');
  const inFlightFunding = model.cycle.inFlight.filter((op): op is FundingOp => op.kind === 'deposit' || op.kind === 'withdraw');
  const cancels = model.cycle.cancels.filter((entry) => entry.outcome !== 'refused').map((entry) => ({ ...entry, used: false }));
  // Answered cancels first: each acknowledged one must find its record.
  cancels.sort((a, b) => (a.outcome === 'cancelled' ? 0 : 1) - (b.outcome === 'cancelled' ? 0 : 1));
  // A cancel may name an order whose own place was in flight too (its id came from a 200 retry).
  const inFlightCancelled = new Set(model.cycle.cancels.map((entry) => entry.op.orderId));
  const usedPlaces = new Set<PlaceOp>();
  const usedFunding = new Set<FundingOp>();
  const seenOrders = new Set<number>();
  const seenFunding = new Set<number>();
  const check: WalCheck = {
    lastSeq: 0, records: 0, tornTail: null, keyToSeq: new Map(), newPlaceSeqs: [],
    inFlightApplied: { places: 0, funding: 0, cancels: 0 }, inFlightAbsent: 0,
  };

  const onPlace = (command: Readonly<Command>): void => {
    const actual = placeOfRecord(command);
    const key = command.clientOrderId === '' ? null : clientKey(command.accountId, command.clientOrderId);
    if (key !== null) {
      const earlier = check.keyToSeq.get(key);
      if (earlier !== undefined) model.violation(`DOUBLE PLACE in the WAL: ${key} at seq ${earlier} and ${command.seq}`);
      check.keyToSeq.set(key, command.seq);
    }
    if (command.seq > fromSeq) check.newPlaceSeqs.push(command.seq);
    const known = model.orders.get(command.seq);
    if (known !== undefined) {
      seenOrders.add(command.seq);
      if (!samePlace(expectedPlace(known.body), actual)) {
        model.violation(`WAL seq ${command.seq} is not the order acknowledged: ${JSON.stringify(actual)} vs ${JSON.stringify(known.body)}`);
      }
      return;
    }
    if (command.seq <= fromSeq) {
      model.violation(`WAL seq ${command.seq} (place, an earlier cycle) is accounted for by nobody`);
      return;
    }
    const match = inFlightPlaces.find((op) => !usedPlaces.has(op) && samePlace(expectedPlace(op.body), actual));
    if (match === undefined) {
      model.violation(`INVENTED: WAL seq ${command.seq} places ${JSON.stringify(actual)}, which no client sent`);
      return;
    }
    // Identical copies of a clientOrderId request are one order: they all resolve to this record.
    for (const op of inFlightPlaces) if (op.body === match.body || (key !== null && samePlace(expectedPlace(op.body), actual))) usedPlaces.add(op);
    seenOrders.add(command.seq);
    check.inFlightApplied.places += 1;
    model.orders.set(command.seq, {
      orderId: command.seq, accountId: command.accountId, body: match.body, told: false, ...noBounds(),
      cancelRequested: inFlightCancelled.has(command.seq), lastStatus: 'new', everOpen: false,
    });
    if (key !== null) {
      const told = model.clientKeys.get(key);
      if (told !== undefined && told !== command.seq) model.violation(`DOUBLE PLACE: ${key} was answered ${told}, the WAL has it at ${command.seq}`);
      model.clientKeys.set(key, command.seq);
    }
  };

  const onFunding = (command: Readonly<Command>): void => {
    const known = model.funding.get(command.seq);
    const kind = command.type === CommandType.Deposit ? 'deposit' : 'withdraw';
    if (known !== undefined) {
      seenFunding.add(command.seq);
      const same = known.type === kind && known.accountId === command.accountId && assetId(known.asset) === command.assetId && known.amountUnits === BigInt(command.amountUnits);
      if (!same) model.violation(`WAL seq ${command.seq} is not the ${known.type} acknowledged`);
      return;
    }
    if (command.seq <= fromSeq) {
      model.violation(`WAL seq ${command.seq} (${kind}, an earlier cycle) is accounted for by nobody`);
      return;
    }
    const match = inFlightFunding.find((op) => !usedFunding.has(op) && fundingMatches(op, command));
    if (match === undefined) {
      model.violation(`INVENTED: WAL seq ${command.seq} is a ${kind} of ${command.amountUnits} units of asset ${command.assetId} to ${command.accountId} that no client sent`);
      return;
    }
    usedFunding.add(match);
    seenFunding.add(command.seq);
    check.inFlightApplied.funding += 1;
    model.funding.set(command.seq, {
      seq: command.seq, type: kind, accountId: command.accountId, asset: ASSETS[command.assetId] as AssetSymbol,
      amountUnits: BigInt(command.amountUnits), acked: false,
    });
  };

  const onCancel = (command: Readonly<Command>): void => {
    if (command.seq <= fromSeq) return; // matched in its own cycle
    const match = cancels.find((entry) => !entry.used && entry.op.accountId === command.accountId && entry.op.orderId === command.orderId);
    if (match === undefined) {
      model.violation(`INVENTED: WAL seq ${command.seq} cancels order ${command.orderId} for ${command.accountId}; no such cancel was sent`);
      return;
    }
    match.used = true;
    if (match.outcome === 'unknown') check.inFlightApplied.cancels += 1;
  };

  const summary = readRecords(dataDir, {
    onRecord: (command) => {
      if (command.type === CommandType.Place) onPlace(command);
      else if (command.type === CommandType.Cancel) onCancel(command);
      else onFunding(command);
    },
  });
  check.lastSeq = summary.lastSeq;
  check.records = summary.records;
  check.tornTail = summary.tornTail;

  for (const order of model.orders.values()) {
    if (order.told && !seenOrders.has(order.orderId)) {
      model.violation(`LOST: order ${order.orderId} (${JSON.stringify(order.body)}) was acknowledged but is not in the WAL`);
    }
  }
  for (const record of model.funding.values()) {
    if (!seenFunding.has(record.seq)) model.violation(`LOST: ${record.type} seq ${record.seq} was acknowledged but is not in the WAL`);
  }
  for (const entry of cancels) {
    if (entry.outcome === 'cancelled' && !entry.used) model.violation(`LOST: the acknowledged cancel of order ${entry.op.orderId} is not in the WAL`);
  }
  if (model.maxAckedSeq > check.lastSeq) model.violation(`LOST: seq ${model.maxAckedSeq} was acknowledged, the WAL ends at ${check.lastSeq}`);
  // This cycle's cancels are accounted for; a later check of the same cycle starts after them.
  model.cycle.cancels = [];
  const applied = usedPlaces.size + usedFunding.size + cancels.filter((entry) => entry.used && entry.outcome === 'unknown').length;
  const inFlightWrites = model.cycle.inFlight.length;
  check.inFlightAbsent = Math.max(0, inFlightWrites - applied);
  return check;
}
