/**
 * A worker thread of the pipeline: builds the stages its thread layout gives it, from the state
 * recovery produced, and runs them until the main thread asks it to stop. On stop it reports what
 * the state digest needs. Any exception ends the thread with an error, and the main thread then
 * takes the whole process down: never a half-alive pipeline.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import type { CoreLimits } from '../domain/limits.ts';
import type { MarketSet } from '../domain/markets.ts';
import { engineFromState, exportEngineState } from '../core/core_state.ts';
import type { CoreState } from '../core/core_state.ts';
import { MatchingStage, RingMatchSink } from '../matching/matching_stage.ts';
import type { Stage } from '../ring/stage.ts';
import { Sequencer } from '../sequencer/sequencer.ts';
import { SequencerStage } from '../sequencer/sequencer_stage.ts';
import { Ledger } from '../settlement/ledger.ts';
import { REPORTS_STAGING_SLOTS, RingLedgerSink, SettlementStage } from '../settlement/settlement_stage.ts';
import type { WalConfig } from '../wal/wal_config.ts';
import { walFileLayerFromEnv } from '../wal/fault_injection.ts';
import { WalStage } from '../wal/wal_stage.ts';
import type { WalStagePolicy } from '../wal/wal_stage.ts';
import { WalWriter } from '../wal/wal_writer.ts';
import type { WalPosition } from '../wal/wal_writer.ts';
import { ThreadWiring } from './ring_wiring.ts';
import type { WiringBuffers } from './ring_wiring.ts';
import { SharedCounters } from './shared_counters.ts';
import { runStageLoop } from './stage_loop.ts';

export interface StageWorkerData {
  threadIndex: number;
  wiring: WiringBuffers;
  marketSet: MarketSet;
  limits: CoreLimits;
  /** The recovered state of this thread's stages only (each part is cloned into the thread; the clientOrderId image is moved). */
  state: Partial<Pick<CoreState, 'sequencer' | 'engine' | 'ledger'>>;
  wal: { config: WalConfig; position: WalPosition; policy: WalStagePolicy };
  /** Staging for one command's messages on the matching → settlement → gateway path. */
  stagingSlots: number;
}

export type StageWorkerReport =
  /** `threadId`: the OS thread id (Linux, from /proc/thread-self; 0 elsewhere), for per-thread CPU accounting. */
  | { type: 'ready'; threadId: number }
  | { type: 'stopped'; engine?: ReturnType<typeof exportEngineState>; ledger?: CoreState['ledger']; walLastSeq?: number };

/** This thread's id as the OS knows it (what /proc/<pid>/task/<id> is named), or 0 where unknown. */
function osThreadId(): number {
  try {
    return Number(path.basename(fs.readlinkSync('/proc/thread-self')));
  } catch {
    return 0;
  }
}

function stateOf<T>(part: T | undefined, stage: string): T {
  if (part === undefined) throw new Error(`stage worker: no recovered state for the ${stage} stage`);
  return part;
}

const data = workerData as StageWorkerData;
const wiring = new ThreadWiring(data.wiring, data.threadIndex);
const counters = new SharedCounters(data.wiring.counters);
const names = data.wiring.layout[data.threadIndex - 1] ?? [];
const stages: Stage[] = [];
let engine: ReturnType<typeof engineFromState> | undefined;
let ledger: Ledger | undefined;
let writer: WalWriter | undefined;

for (const name of names) {
  if (name === 'sequencer') {
    const sequencer = Sequencer.fromState(data.marketSet, data.limits, stateOf(data.state.sequencer, name));
    const links = {
      commands: wiring.inbox('GS'),
      credits: wiring.inbox('TS'),
      sequenced: wiring.outbox('SW', 1),
      rejects: wiring.outbox('SG', 1),
    };
    stages.push(new SequencerStage(sequencer, links, counters));
  } else if (name === 'wal') {
    // The file layer is node:fs unless a crash test injects a fault (src/wal/fault_injection.ts).
    writer = new WalWriter(data.wal.config, data.wal.position, walFileLayerFromEnv());
    counters.setDurableSeq(writer.durableSeq);
    stages.push(new WalStage(writer, { sequenced: wiring.inbox('SW'), durable: wiring.outbox('WM', 1) }, data.wal.policy, counters));
  } else if (name === 'matching') {
    const events = wiring.outbox('MT', data.stagingSlots);
    engine = engineFromState(data.marketSet, data.limits, new RingMatchSink(events), stateOf(data.state.engine, name));
    stages.push(new MatchingStage(engine, { durable: wiring.inbox('WM'), events }));
  } else {
    const reports = wiring.outbox('TG', REPORTS_STAGING_SLOTS);
    const credits = wiring.outbox('TS', 64);
    const sink = new RingLedgerSink(reports, credits);
    ledger = Ledger.fromState(data.marketSet, data.limits, sink, stateOf(data.state.ledger, name));
    stages.push(new SettlementStage(ledger, sink, { events: wiring.inbox('MT'), reports, credits }));
  }
}

parentPort?.postMessage({ type: 'ready', threadId: osThreadId() } satisfies StageWorkerReport);
runStageLoop(stages, wiring.doorbell, wiring);
writer?.close();
const report: StageWorkerReport = { type: 'stopped' };
if (engine !== undefined) report.engine = exportEngineState(engine, data.marketSet);
if (ledger !== undefined) report.ledger = ledger.exportState();
if (writer !== undefined) report.walLastSeq = writer.durableSeq;
parentPort?.postMessage(report);
