/**
 * The file layer: every file operation of the WAL goes through this small interface, synchronous
 * on purpose (the WAL writer owns its own thread, recovery runs before anything else starts).
 *
 * The default is node:fs. Tests and the crash tests inject failures here (a failed write or
 * fdatasync, ENOSPC, a short write) and count calls, without touching the WAL code itself.
 */
import * as fs from 'node:fs';

export type OpenFlags = 'r' | 'r+' | 'w' | 'wx';

export interface FileLayer {
  /** Opens a file; 'w' creates or truncates, 'wx' creates and fails if the file exists. */
  open(path: string, flags: OpenFlags): number;
  /** Writes at an absolute position (pwrite); returns the bytes written, which may be fewer. */
  write(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  /** Reads at an absolute position (pread); returns the bytes read, 0 at the end of the file. */
  read(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  fdatasync(fd: number): void;
  /** Makes a directory's entries (created, renamed files) durable. */
  fsyncDirectory(path: string): void;
  truncate(fd: number, length: number): void;
  close(fd: number): void;
  /** Size of a file in bytes, or null when it does not exist. */
  stat(path: string): { size: number } | null;
  /** Names of the entries of a directory, in no particular order. */
  readdir(path: string): string[];
  /** Renames a file; the caller makes sure that `to` does not exist. */
  rename(from: string, to: string): void;
  /** Creates a directory and its parents when missing. */
  mkdir(path: string): void;
}

export const nodeFileLayer: FileLayer = {
  open: (path, flags) => fs.openSync(path, flags),
  write: (fd, buffer, offset, length, position) => fs.writeSync(fd, buffer, offset, length, position),
  read: (fd, buffer, offset, length, position) => fs.readSync(fd, buffer, offset, length, position),
  fdatasync: (fd) => fs.fdatasyncSync(fd),
  fsyncDirectory: (path) => {
    const fd = fs.openSync(path, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  },
  truncate: (fd, length) => fs.ftruncateSync(fd, length),
  close: (fd) => fs.closeSync(fd),
  stat: (path) => {
    const stats = fs.statSync(path, { throwIfNoEntry: false });
    return stats === undefined ? null : { size: stats.size };
  },
  readdir: (path) => fs.readdirSync(path),
  rename: (from, to) => fs.renameSync(from, to),
  mkdir: (path) => {
    fs.mkdirSync(path, { recursive: true });
  },
};

/** Bounded loop over short writes: a regular file only writes short right before an error. */
const WRITE_ATTEMPTS_MAX = 16;

/** Writes all of `length` bytes or throws; a short write is continued, never silently accepted. */
export function writeFully(
  layer: FileLayer,
  fd: number,
  buffer: Uint8Array,
  offset: number,
  length: number,
  position: number,
): void {
  let written = 0;
  for (let attempt = 0; written < length; attempt++) {
    if (attempt === WRITE_ATTEMPTS_MAX) {
      throw new Error(`write made no progress after ${WRITE_ATTEMPTS_MAX} attempts (${written} of ${length} bytes)`);
    }
    written += layer.write(fd, buffer, offset + written, length - written, position + written);
  }
}

/** Reads exactly `length` bytes at `position` or throws (the file is shorter than expected). */
export function readFully(
  layer: FileLayer,
  fd: number,
  buffer: Uint8Array,
  offset: number,
  length: number,
  position: number,
): void {
  let done = 0;
  while (done < length) {
    const count = layer.read(fd, buffer, offset + done, length - done, position + done);
    if (count === 0) throw new Error(`unexpected end of file at ${position + done} (wanted ${length} bytes at ${position})`);
    done += count;
  }
}

/**
 * Closes a file while another error is already on its way up: a failing close must not replace
 * that error, which is the one that explains what happened.
 */
export function closeAfterError(layer: FileLayer, fd: number): void {
  try {
    layer.close(fd);
  } catch {
    // Deliberately ignored: the caller rethrows the original error.
  }
}
