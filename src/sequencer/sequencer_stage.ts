/**
 * The sequencer's stage shell: drains credits (T→S) first, always, so the spendable view catches
 * up before new commands are judged and so the credit loop can never deadlock; then sequences
 * commands from the gateway (G→S), sending accepted ones to the WAL (S→W) and refusals back to
 * the gateway (S→G). Exactly one message leaves per command, so a full output ring just pauses
 * intake while credits keep flowing.
 */
import { RejectCode } from '../domain/reject_codes.ts';
import {
  MessageTag,
  createCommandMessage,
  createCreditMessage,
  createOrderClosedMessage,
  decodeCommand,
  decodeCredit,
  decodeOrderClosed,
  encodeCommand,
  encodeReject,
  readTag,
} from '../ring/messages.ts';
import type { Inbox, Outbox } from '../ring/ring_endpoints.ts';
import type { Stage } from '../ring/stage.ts';
import type { SharedCounters } from '../pipeline/shared_counters.ts';
import type { Sequencer } from './sequencer.ts';

/** Commands judged per step: bounds the time between two credit drains. */
export const SEQUENCER_BATCH_MAX = 256;

export interface SequencerStageLinks {
  commands: Inbox; // G→S
  credits: Inbox; // T→S
  sequenced: Outbox; // S→W
  rejects: Outbox; // S→G
}

export class SequencerStage implements Stage {
  private readonly message = createCommandMessage();
  private readonly credit = createCreditMessage();
  private readonly closed = createOrderClosedMessage();
  private readonly reject = { requestId: 0, code: RejectCode.None as RejectCode, duplicateOrderId: 0 };

  constructor(
    private readonly sequencer: Sequencer,
    private readonly links: SequencerStageLinks,
    private readonly counters: SharedCounters,
    private readonly clock: () => number = Date.now,
  ) {}

  step(): boolean {
    const drained = this.drainCredits();
    const { sequenced, rejects } = this.links;
    sequenced.flush();
    rejects.flush();
    if (sequenced.staged > 0 || rejects.staged > 0) return drained;
    return this.sequenceBatch() || drained;
  }

  hasWork(): boolean {
    const { commands, credits, sequenced, rejects } = this.links;
    if (credits.available() > 0) return true;
    if (sequenced.staged > 0 || rejects.staged > 0) return sequenced.freeSlots() > 0 && rejects.freeSlots() > 0;
    return commands.available() > 0;
  }

  private drainCredits(): boolean {
    const { credits } = this.links;
    const count = credits.available();
    if (count === 0) return false;
    const views = credits.ring;
    for (let i = 0; i < count; i++) {
      const offset = credits.offset(i);
      const tag = readTag(views, offset);
      if (tag === MessageTag.Credit) {
        decodeCredit(views, offset, this.credit);
        this.sequencer.credit(this.credit.accountId, this.credit.assetId, this.credit.amountUnits);
      } else {
        decodeOrderClosed(views, offset, this.closed);
        this.sequencer.orderClosed(this.closed.orderId);
      }
    }
    credits.release(count);
    return true;
  }

  private sequenceBatch(): boolean {
    const { commands, sequenced, rejects } = this.links;
    const count = Math.min(commands.available(), SEQUENCER_BATCH_MAX);
    if (count === 0) return false;
    const nowMs = this.clock();
    const message = this.message;
    let done = 0;
    // Stop early if either output has to stage: one staged message per ring at most.
    while (done < count && sequenced.staged === 0 && rejects.staged === 0) {
      decodeCommand(commands.ring, commands.offset(done), message);
      const commandType = message.command.type;
      const code = this.sequencer.submit(message.command, nowMs);
      if (code === RejectCode.None) {
        sequenced.write(encodeCommand, message);
        this.counters.countAccepted(commandType);
      } else {
        this.reject.requestId = message.requestId;
        this.reject.code = code;
        this.reject.duplicateOrderId = this.sequencer.duplicateOrderId;
        rejects.write(encodeReject, this.reject);
        this.counters.countRejected(commandType);
      }
      done += 1;
    }
    commands.release(done);
    sequenced.flush();
    rejects.flush();
    return true;
  }
}
