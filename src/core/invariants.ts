/**
 * DESIGN.md's invariants checked across the state machines, from the outside: each one recomputed
 * from the books and balances rather than trusting any stage's own bookkeeping. The replay
 * command runs it at the end of a replay; tests run it after every command.
 *
 * - per asset: Σ over accounts (available + locked) = Σ deposits − Σ withdrawals (the supply);
 * - no balance is ever negative;
 * - locked funds of an account = what its open orders reserve;
 * - the books hold exactly the open orders, each once, never crossed.
 */
import { Side, restingBuyReservation } from '../domain/commands.ts';
import type { ExchangeCore } from './exchange_core.ts';

export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

function check(condition: boolean, message: () => string): void {
  if (!condition) throw new InvariantViolation(message());
}

/** Throws InvariantViolation naming the first broken invariant. `supply` defaults to the ledger's. */
export function checkCoreInvariants(core: ExchangeCore, supply?: readonly number[]): void {
  const { marketSet, engine, ledger, sequencer } = core;
  const assetCount = marketSet.assets.length;
  // (account, asset) as one number, accountId × assetCount + assetId: exact (ids < 2^32) and no
  // key string per balance and per order (a restore checks a million orders here).
  const totals = new Array<number>(assetCount).fill(0);
  const locked = new Map<number, number>();
  ledger.forEachBalance((accountId, assetId, available, lockedUnits) => {
    check(available >= 0 && lockedUnits >= 0, () => `negative balance for account ${accountId} asset ${assetId}`);
    totals[assetId] = (totals[assetId] ?? 0) + available + lockedUnits;
    if (lockedUnits !== 0) locked.set(accountId * assetCount + assetId, lockedUnits);
    const spendable = sequencer.spendableUnits(accountId, assetId);
    check(spendable <= available, () => `spendable ${spendable} above available ${available} for ${accountId}/${assetId}`);
  });
  for (const asset of marketSet.assets) {
    const expected = supply?.[asset.id] ?? ledger.supplyOf(asset.id);
    check(totals[asset.id] === expected, () => `${asset.symbol}: Σ balances ${totals[asset.id]} != deposits − withdrawals ${expected}`);
  }
  const reserved = new Map<number, number>();
  let open = 0;
  for (const market of marketSet.markets) {
    for (const side of [Side.Buy, Side.Sell]) {
      engine.forEachOpenOrder(market.id, side, (order) => {
        open += 1;
        const assetId = side === Side.Buy ? market.quote.id : market.base.id;
        const units =
          side === Side.Buy
            ? restingBuyReservation(market, order.priceTicks, order.remainingSteps)
            : order.remainingSteps * market.stepUnits;
        const key = order.accountId * assetCount + assetId;
        reserved.set(key, (reserved.get(key) ?? 0) + units);
      });
    }
    const bid = engine.bestBidTicks(market.id);
    const ask = engine.bestAskTicks(market.id);
    check(bid < 0 || ask < 0 || bid < ask, () => `${market.symbol} is crossed: bid ${bid} ask ${ask}`);
  }
  check(locked.size === reserved.size, () => `${locked.size} locked balances but ${reserved.size} reserving accounts`);
  for (const [key, units] of reserved) {
    check(locked.get(key) === units, () => `account:asset ${Math.floor(key / assetCount)}:${key % assetCount} has ${locked.get(key) ?? 0} locked but its open orders reserve ${units}`);
  }
  check(engine.openOrderCount === open, () => `engine counts ${engine.openOrderCount} open orders but its books hold ${open}`);
  engine.checkInvariants();
  ledger.checkInvariants();
}
