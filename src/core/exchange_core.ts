/**
 * The exchange core in one thread: sequencer → matching engine → settlement ledger, with the
 * ledger's credits flowing straight back into the sequencer's spendable view.
 *
 * This is the composition that recovery, replay, snapshots, the core benchmark and the property
 * tests run. The threaded pipeline runs the very same state machines, split across threads, so
 * replaying the WAL through this class rebuilds exactly the state the live server had.
 */
import type { Command } from '../domain/commands.ts';
import { CommandType } from '../domain/commands.ts';
import type {
  CancelRejectEvent,
  ExecutionSink,
  LedgerSink,
  LevelEvent,
  MatchSink,
  OrderDoneEvent,
  TradeEvent,
} from '../domain/events.ts';
import type { CoreLimits } from '../domain/limits.ts';
import type { MarketSet } from '../domain/markets.ts';
import { RejectCode } from '../domain/reject_codes.ts';
import { assert } from '../domain/assert.ts';
import { engineFromState } from './core_state.ts';
import type { CoreState } from './core_state.ts';
import { MatchingEngine } from '../matching/matching_engine.ts';
import { Sequencer } from '../sequencer/sequencer.ts';
import { Ledger } from '../settlement/ledger.ts';

/**
 * Optional observer of everything the core does (tests, read models rebuilt by recovery). Which
 * matching handlers it has is read once, at construction.
 */
export type CoreListener = Partial<ExecutionSink>;

export class ExchangeCore {
  readonly marketSet: MarketSet;
  readonly limits: CoreLimits;
  readonly sequencer: Sequencer;
  readonly engine: MatchingEngine;
  readonly ledger: Ledger;
  private lastProcessedSeq = 0;

  private readonly listener: CoreListener;

  constructor(marketSet: MarketSet, limits: CoreLimits, listener: CoreListener = {}, state?: Readonly<CoreState>) {
    this.marketSet = marketSet;
    this.limits = limits;
    this.listener = listener;
    if (state === undefined) {
      this.sequencer = new Sequencer(marketSet, limits);
      this.ledger = new Ledger(marketSet, limits, new CreditLoop(this.sequencer, listener));
      this.engine = new MatchingEngine(marketSet, limits, matchSinkFor(this.ledger, listener));
      return;
    }
    assert(Number.isSafeInteger(state.lastSeq) && state.lastSeq >= 0, 'ExchangeCore.fromState: bad lastSeq');
    assert(state.ledger.lastSeq === state.lastSeq, 'ExchangeCore.fromState: the ledger is not at lastSeq');
    assert(state.sequencer.nextSeq === state.lastSeq + 1, 'ExchangeCore.fromState: the sequencer is not right after lastSeq');
    this.sequencer = Sequencer.fromState(marketSet, limits, state.sequencer);
    this.ledger = Ledger.fromState(marketSet, limits, new CreditLoop(this.sequencer, listener), state.ledger);
    this.engine = engineFromState(marketSet, limits, matchSinkFor(this.ledger, listener), state.engine);
    this.lastProcessedSeq = state.lastSeq;
  }

  /**
   * A core that continues from exported state (a snapshot): the listener hears only what happens
   * from here on, nothing about the state restored.
   */
  static fromState(marketSet: MarketSet, limits: CoreLimits, state: Readonly<CoreState>, listener: CoreListener = {}): ExchangeCore {
    return new ExchangeCore(marketSet, limits, listener, state);
  }

  /** The seq of the last command that went through matching and settlement. */
  get lastSeq(): number {
    return this.lastProcessedSeq;
  }

  /** Pre-check and sequence a new command; when accepted, match and settle it at once. */
  submit(command: Command, nowMs: number): RejectCode {
    const code = this.sequencer.submit(command, nowMs);
    if (code === RejectCode.None) this.process(command);
    return code;
  }

  /** Recovery: re-apply a sequenced command read from the WAL. */
  replay(command: Readonly<Command>): void {
    this.sequencer.replay(command);
    this.process(command);
  }

  /** Matching and settlement of a command the sequencer has accepted. */
  process(command: Readonly<Command>): void {
    this.listener.onCommand?.(command);
    this.ledger.applyCommand(command);
    if (command.type === CommandType.Place || command.type === CommandType.Cancel) this.engine.apply(command);
    this.lastProcessedSeq = command.seq;
    this.listener.onCommandEnd?.(command);
  }
}

/** The ledger's output: credits and closes go back to the sequencer, balances to the listener. */
class CreditLoop implements LedgerSink {
  constructor(
    private readonly sequencer: Sequencer,
    private readonly listener: CoreListener,
  ) {}

  onCredit(accountId: number, assetId: number, amountUnits: number): void {
    this.sequencer.credit(accountId, assetId, amountUnits);
  }

  onOrderClosed(orderId: number): void {
    this.sequencer.orderClosed(orderId);
  }

  onBalance(accountId: number, assetId: number, availableUnits: number, lockedUnits: number): void {
    this.listener.onBalance?.(accountId, assetId, availableUnits, lockedUnits);
  }
}

/**
 * Where the engine's events go: straight to the ledger when the listener hears none of them (the
 * benchmark, replay without read models), which saves a call per event; else through MatchFanOut.
 */
function matchSinkFor(ledger: Ledger, listener: CoreListener): MatchSink {
  const hearsMatching = listener.onTrade !== undefined || listener.onOrderDone !== undefined || listener.onLevel !== undefined || listener.onCancelReject !== undefined;
  return hearsMatching ? new MatchFanOut(ledger, listener) : ledger;
}

/** Matching events go to the ledger first (it is the authority), then to the listener. */
class MatchFanOut implements MatchSink {
  constructor(
    private readonly ledger: Ledger,
    private readonly listener: CoreListener,
  ) {}

  onTrade(event: Readonly<TradeEvent>): void {
    this.ledger.onTrade(event);
    this.listener.onTrade?.(event);
  }

  onOrderDone(event: Readonly<OrderDoneEvent>): void {
    this.ledger.onOrderDone(event);
    this.listener.onOrderDone?.(event);
  }

  onLevel(event: Readonly<LevelEvent>): void {
    this.listener.onLevel?.(event);
  }

  onCancelReject(event: Readonly<CancelRejectEvent>): void {
    this.listener.onCancelReject?.(event);
  }
}
