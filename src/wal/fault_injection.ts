/**
 * TEST-ONLY fault injection for the WAL writer's file layer (the crash tests in test/crash/).
 *
 * The WAL worker wraps its file layer with `faultyFileLayer` only when the environment variable
 * EXCHANGE_TEST_WAL_FAULT is set, and says so loudly on stderr; without it the writer gets the plain
 * node:fs layer and nothing here runs. Specs:
 *
 *   fsync:after=N    the first N fsyncs (fdatasync and directory fsync) succeed, every later one
 *                    fails with EIO; the failing fdatasync also drops what was written to the file
 *                    since its last successful one, as Linux may drop dirty pages after a failed
 *                    writeback: an acknowledgement that came too early would then be caught as a loss.
 *   write:after=N    the first N writes succeed, every later one fails with EIO, writing nothing.
 *   enospc:after=N   N bytes may be written in total: the write that crosses the limit is short,
 *                    every later one fails with ENOSPC (what a full disk does).
 *
 * Recovery runs on the main thread with the plain layer: faults only hit the writer.
 */
import type { FileLayer } from './file_layer.ts';
import { nodeFileLayer } from './file_layer.ts';

export const WAL_FAULT_ENV = 'EXCHANGE_TEST_WAL_FAULT';

export type WalFaultKind = 'fsync' | 'write' | 'enospc';

export interface WalFaultSpec {
  kind: WalFaultKind;
  /** Operations (fsync, write) or bytes (enospc) that succeed before the fault. */
  after: number;
}

/** Large enough for any test, small enough to stay an exact integer. */
const FAULT_AFTER_MAX = 1_000_000_000_000;

/** Parses `kind:after=N`; throws on anything else, so that a typo never silently disables a fault. */
export function parseWalFaultSpec(text: string): WalFaultSpec {
  const match = /^(fsync|write|enospc):after=([0-9]{1,13})$/.exec(text.trim());
  if (match === null) {
    throw new Error(`${WAL_FAULT_ENV}="${text}": expected fsync:after=N, write:after=N or enospc:after=N`);
  }
  const after = Number(match[2]);
  if (!Number.isSafeInteger(after) || after > FAULT_AFTER_MAX) throw new Error(`${WAL_FAULT_ENV}="${text}": N is too large`);
  return { kind: match[1] as WalFaultKind, after };
}

function systemError(code: 'EIO' | 'ENOSPC', syscall: string): NodeJS.ErrnoException {
  const text = code === 'EIO' ? 'i/o error' : 'no space left on device';
  const error: NodeJS.ErrnoException = new Error(`${code}: ${text} (injected by ${WAL_FAULT_ENV}), ${syscall}`);
  error.code = code;
  error.syscall = syscall;
  return error;
}

/** Per open file: how far it has been written and how much of that the last fdatasync covered. */
interface FileMarks {
  writtenEnd: number;
  syncedEnd: number;
}

/** Wraps `base` so that it fails as `spec` says; every other call goes straight through. */
export function faultyFileLayer(base: FileLayer, spec: WalFaultSpec): FileLayer {
  let fsyncs = 0;
  let writes = 0;
  let bytes = 0;
  const marks = new Map<number, FileMarks>();

  const fsyncFails = (): boolean => {
    if (spec.kind !== 'fsync') return false;
    fsyncs += 1;
    return fsyncs > spec.after;
  };

  const write: FileLayer['write'] = (fd, buffer, offset, length, position) => {
    let allowed = length;
    if (spec.kind === 'write') {
      writes += 1;
      if (writes > spec.after) throw systemError('EIO', 'write');
    } else if (spec.kind === 'enospc') {
      allowed = Math.min(length, spec.after - bytes);
      if (allowed <= 0) throw systemError('ENOSPC', 'write');
    }
    const written = base.write(fd, buffer, offset, allowed, position);
    bytes += written;
    const mark = marks.get(fd);
    if (mark !== undefined) mark.writtenEnd = Math.max(mark.writtenEnd, position + written);
    return written;
  };

  const fdatasync: FileLayer['fdatasync'] = (fd) => {
    const mark = marks.get(fd);
    if (fsyncFails()) {
      // The kernel may forget dirty pages after a failed writeback: so do we.
      if (mark !== undefined && mark.writtenEnd > mark.syncedEnd) {
        base.truncate(fd, mark.syncedEnd);
        mark.writtenEnd = mark.syncedEnd;
      }
      throw systemError('EIO', 'fdatasync');
    }
    base.fdatasync(fd);
    if (mark !== undefined) mark.syncedEnd = mark.writtenEnd;
  };

  return {
    open: (path, flags) => {
      const fd = base.open(path, flags);
      const size = flags === 'w' ? 0 : (base.stat(path)?.size ?? 0);
      marks.set(fd, { writtenEnd: size, syncedEnd: size });
      return fd;
    },
    write,
    read: (fd, buffer, offset, length, position) => base.read(fd, buffer, offset, length, position),
    fdatasync,
    fsyncDirectory: (path) => {
      if (fsyncFails()) throw systemError('EIO', 'fsync');
      base.fsyncDirectory(path);
    },
    truncate: (fd, length) => {
      base.truncate(fd, length);
      const mark = marks.get(fd);
      if (mark !== undefined) mark.writtenEnd = Math.min(mark.writtenEnd, length);
    },
    close: (fd) => {
      marks.delete(fd);
      base.close(fd);
    },
    stat: (path) => base.stat(path),
    readdir: (path) => base.readdir(path),
    rename: (from, to) => base.rename(from, to),
    mkdir: (path) => base.mkdir(path),
  };
}

/**
 * The WAL writer's file layer: node:fs, or — only when EXCHANGE_TEST_WAL_FAULT is set — node:fs
 * with the fault injected, announced on stderr so that no one mistakes such a run for a real one.
 */
export function walFileLayerFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  announce: (message: string) => void = (message) => process.stderr.write(message),
): FileLayer {
  const text = env[WAL_FAULT_ENV];
  if (text === undefined || text === '') return nodeFileLayer;
  const spec = parseWalFaultSpec(text);
  announce(`!!! TEST-ONLY WAL FAULT INJECTION ACTIVE (${WAL_FAULT_ENV}=${text}): the WAL writer WILL FAIL on purpose. Never use in production. !!!\n`);
  return faultyFileLayer(nodeFileLayer, spec);
}
