/**
 * Shared helpers of the WAL tests: temp directories, deterministic commands of every type, a file
 * layer that counts calls and injects failures, and a one-call way to write a log.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from '../../src/domain/commands.ts';
import { CommandType, OrderType, Side, TimeInForce, copyCommand, createCommand } from '../../src/domain/commands.ts';
import type { FileLayer } from '../../src/wal/file_layer.ts';
import { nodeFileLayer } from '../../src/wal/file_layer.ts';
import { recoverWal } from '../../src/wal/recovery.ts';
import { readRecords } from '../../src/wal/wal_reader.ts';
import type { WalConfig } from '../../src/wal/wal_config.ts';
import { walConfig } from '../../src/wal/wal_config.ts';
import { WalWriter } from '../../src/wal/wal_writer.ts';

export function makeTempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'wal-test-'));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** A deterministic command of every type in turn (deposit, withdraw, limit, market, cancel). */
export function sampleCommand(seq: number, timestampMs = 1_700_000_000_000 + seq): Command {
  const command = createCommand();
  command.seq = seq;
  command.timestampMs = timestampMs;
  command.accountId = 1 + (seq % 97);
  switch (seq % 6) {
    case 0:
      command.type = CommandType.Deposit;
      command.assetId = seq % 3;
      command.amountUnits = 1_000_000_000 * seq;
      break;
    case 1:
      command.type = CommandType.Withdraw;
      command.assetId = 2;
      command.amountUnits = 5 + seq;
      break;
    case 2:
    case 3:
      command.type = CommandType.Place;
      command.marketId = seq % 2;
      command.side = seq % 4 === 2 ? Side.Buy : Side.Sell;
      command.orderType = OrderType.Limit;
      command.timeInForce = TimeInForce.GTC;
      command.postOnly = seq % 8 === 3;
      command.priceTicks = 6_500_000 + (seq % 200);
      command.qtySteps = 1 + (seq % 50);
      command.clientOrderId = seq % 4 === 3 ? `client-${seq}` : '';
      break;
    case 4:
      command.type = CommandType.Place;
      command.marketId = 1;
      command.side = Side.Buy;
      command.orderType = OrderType.Market;
      command.timeInForce = TimeInForce.IOC;
      command.quoteQtyUnits = 250_000_000 + seq;
      break;
    default:
      command.type = CommandType.Cancel;
      command.orderId = Math.max(1, seq - 3);
      break;
  }
  return command;
}

export function sampleCommands(firstSeq: number, count: number): Command[] {
  return Array.from({ length: count }, (_, i) => sampleCommand(firstSeq + i));
}

/** The fields a record carries for its type (unused fields decode to their defaults). */
export function recordFields(command: Readonly<Command>): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    type: command.type,
    seq: command.seq,
    timestampMs: command.timestampMs,
    accountId: command.accountId,
  };
  switch (command.type) {
    case CommandType.Deposit:
    case CommandType.Withdraw:
      return { ...fields, assetId: command.assetId, amountUnits: command.amountUnits };
    case CommandType.Place:
      return {
        ...fields,
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
    case CommandType.Cancel:
      return { ...fields, orderId: command.orderId };
  }
}

export type FileOperation = keyof FileLayer;

/** Counts every call and lets a test make the next call of an operation fail. */
export class TestFileLayer {
  readonly counts: Record<FileOperation, number> = {
    open: 0,
    write: 0,
    read: 0,
    fdatasync: 0,
    fsyncDirectory: 0,
    truncate: 0,
    close: 0,
    stat: 0,
    readdir: 0,
    rename: 0,
    mkdir: 0,
  };
  /** Outcomes of the next calls of an operation, in order: an error to throw, or null to pass. */
  readonly failures = new Map<FileOperation, Array<Error | null>>();
  /** When set, `write` writes at most this many bytes per call (a short write). */
  writeBytesMax = Infinity;
  readonly layer: FileLayer;

  constructor(base: FileLayer = nodeFileLayer) {
    const before = (operation: FileOperation): void => {
      this.counts[operation] += 1;
      const error = this.failures.get(operation)?.shift();
      if (error !== undefined && error !== null) throw error;
    };
    this.layer = {
      open: (file, flags) => (before('open'), base.open(file, flags)),
      write: (fd, buffer, offset, length, position) => {
        before('write');
        return base.write(fd, buffer, offset, Math.min(length, this.writeBytesMax), position);
      },
      read: (fd, buffer, offset, length, position) => (before('read'), base.read(fd, buffer, offset, length, position)),
      fdatasync: (fd) => (before('fdatasync'), base.fdatasync(fd)),
      fsyncDirectory: (dir) => (before('fsyncDirectory'), base.fsyncDirectory(dir)),
      truncate: (fd, length) => (before('truncate'), base.truncate(fd, length)),
      close: (fd) => (before('close'), base.close(fd)),
      stat: (file) => (before('stat'), base.stat(file)),
      readdir: (dir) => (before('readdir'), base.readdir(dir)),
      rename: (from, to) => (before('rename'), base.rename(from, to)),
      mkdir: (dir) => (before('mkdir'), base.mkdir(dir)),
    };
  }

  /** Makes a coming call of `operation` throw `error`, after `passing` calls that succeed. */
  failNext(operation: FileOperation, error: Error, passing = 0): void {
    const list = this.failures.get(operation) ?? [];
    for (let i = 0; i < passing; i++) list.push(null);
    list.push(error);
    this.failures.set(operation, list);
  }

  resetCounts(): void {
    for (const key of Object.keys(this.counts) as FileOperation[]) this.counts[key] = 0;
  }
}

export function errnoError(code: string, message: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${code}: ${message}`);
  error.code = code;
  return error;
}

/** Opens a writer where recovery says the log ends. */
export function openWriter(config: WalConfig, layer: FileLayer = nodeFileLayer): WalWriter {
  return new WalWriter(config, recoverWal(config.dataDir, { fileLayer: layer }), layer);
}

/** Writes `commands` as a log, flushing every `batchRecords` records. */
export function writeLog(
  dataDir: string,
  commands: readonly Command[],
  overrides: Partial<Omit<WalConfig, 'dataDir'>> = {},
  batchRecords = 8,
): WalWriter {
  const writer = openWriter(walConfig(dataDir, overrides));
  for (const command of commands) {
    if (writer.full || writer.pendingRecords >= batchRecords) writer.flush();
    writer.append(command);
  }
  writer.close();
  return writer;
}

/** Every record of the log, copied out of the reused Command. */
export function readAll(dataDir: string): Command[] {
  const commands: Command[] = [];
  readRecords(dataDir, { onRecord: (command) => commands.push(copyCommand(command, createCommand())) });
  return commands;
}

export function segmentPath(dataDir: string, name: string): string {
  return path.join(dataDir, 'wal', name);
}

export function walFiles(dataDir: string): string[] {
  return fs.readdirSync(path.join(dataDir, 'wal')).sort();
}
