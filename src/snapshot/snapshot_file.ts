/**
 * Snapshot files: `<dataDir>/snapshots/<seq, 20 digits>.snap`, the full state after the record
 * `seq`. A fixed little-endian header, then the msgpack body (snapshot_codec.ts):
 *
 *   offset  size  field
 *        0     8  magic        "EXSNAPSH"
 *        8     4  version      u32, SNAPSHOT_FORMAT_VERSION
 *       12     4  headerBytes  u32, SNAPSHOT_HEADER_BYTES
 *       16     8  seq          u64, equal to the seq in the file name and in the body
 *       24     8  bodyBytes    u64
 *       32     4  walChainCrc  u32, the WAL chain crc of the record `seq`
 *       36     4  reserved     zero
 *       40    32  bodySha256   SHA-256 of the body
 *       72    32  stateDigest  the state digest (state_digest.ts) of the snapshot's core, raw
 *      104     4  reserved     zero
 *      108     4  headerCrc    u32, CRC-32 of bytes [0, 108)
 *
 * The body's checksum is SHA-256 (OpenSSL through node:crypto, faster than a JavaScript CRC on
 * hundreds of megabytes, and it leaves no doubt); the small header has a CRC-32 like the WAL's.
 *
 * Written atomically: `<name>.tmp`, fdatasync, rename, fsync of the directory. A crash leaves at
 * most a `.tmp` file, which is never read as a snapshot. A file that is truncated, damaged or
 * unparsable fails `readSnapshotFile` with a SnapshotReadError saying why; it is never half-used.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assert } from '../domain/assert.ts';
import type { FileLayer } from '../wal/file_layer.ts';
import { closeAfterError, nodeFileLayer, readFully, writeFully } from '../wal/file_layer.ts';
import { crc32, readSafeU64, readU32, writeSafeU64, writeU32 } from '../wal/record_codec.ts';
import { SnapshotFormatError } from './columns.ts';
import type { SnapshotBody, SnapshotContent } from './snapshot_codec.ts';
import { decodeSnapshotBody, encodeSnapshotBody } from './snapshot_codec.ts';

export const SNAPSHOT_MAGIC = 'EXSNAPSH';
export const SNAPSHOT_FORMAT_VERSION = 1;
const MAGIC_OFFSET = 0;
const VERSION_OFFSET = 8;
const HEADER_BYTES_OFFSET = 12;
const SEQ_OFFSET = 16;
const BODY_BYTES_OFFSET = 24;
const WAL_CHAIN_CRC_OFFSET = 32;
const BODY_SHA256_OFFSET = 40;
const STATE_DIGEST_OFFSET = 72;
const HEADER_CRC_OFFSET = 108;
export const SNAPSHOT_HEADER_BYTES = 112;
const SHA256_BYTES = 32;

assert(VERSION_OFFSET === MAGIC_OFFSET + SNAPSHOT_MAGIC.length, 'snapshot header: version follows the magic');
assert(BODY_SHA256_OFFSET === WAL_CHAIN_CRC_OFFSET + 8, 'snapshot header: the body hash follows the chain crc and 4 reserved bytes');
assert(STATE_DIGEST_OFFSET === BODY_SHA256_OFFSET + SHA256_BYTES, 'snapshot header: the digest follows the body hash');
assert(HEADER_CRC_OFFSET === STATE_DIGEST_OFFSET + SHA256_BYTES + 4, 'snapshot header: the crc follows the digest and 4 reserved bytes');
assert(SNAPSHOT_HEADER_BYTES === HEADER_CRC_OFFSET + 4, 'snapshot header size matches its layout');

const MAGIC_BYTES = new TextEncoder().encode(SNAPSHOT_MAGIC);
const SNAPSHOT_NAME_PATTERN = /^(\d{20})\.snap$/;
export const SNAPSHOT_TEMP_SUFFIX = '.tmp';
/** Bytes of a snapshot's body written between two fdatasyncs (see writeSnapshotBytes). */
export const SNAPSHOT_SYNC_CHUNK_BYTES = 1024 * 1024;
/** Suffix of a snapshot that recovery refused: kept for inspection, never read again. */
export const SNAPSHOT_REJECTED_SUFFIX = '.rejected';
/** The largest snapshot this build reads (a sanity bound on bodyBytes, far above real state). */
export const SNAPSHOT_BYTES_MAX = 16 * 1024 * 1024 * 1024;

export function snapshotDirectory(dataDir: string): string {
  return path.join(dataDir, 'snapshots');
}

export function snapshotFileName(seq: number): string {
  assert(Number.isSafeInteger(seq) && seq >= 1, `snapshotFileName: bad seq ${seq}`);
  return `${String(seq).padStart(20, '0')}.snap`;
}

export function parseSnapshotFileName(name: string): number | null {
  const match = SNAPSHOT_NAME_PATTERN.exec(name);
  if (match === null) return null;
  const seq = Number(match[1]);
  return Number.isSafeInteger(seq) && seq >= 1 ? seq : null;
}

export interface SnapshotName {
  name: string;
  seq: number;
}

/** Snapshots in the directory, newest first, and the other entries (.tmp, .rejected). */
export function listSnapshots(layer: FileLayer, dir: string): { snapshots: SnapshotName[]; others: string[] } {
  if (layer.stat(dir) === null) return { snapshots: [], others: [] };
  const snapshots: SnapshotName[] = [];
  const others: string[] = [];
  for (const name of layer.readdir(dir)) {
    const seq = parseSnapshotFileName(name);
    if (seq === null) others.push(name);
    else snapshots.push({ name, seq });
  }
  snapshots.sort((a, b) => b.seq - a.seq);
  others.sort();
  return { snapshots, others };
}

/** A snapshot file that cannot be used, and why (truncated, checksum, unparsable, ...). */
export class SnapshotReadError extends Error {
  override readonly name = 'SnapshotReadError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`snapshot ${file}: ${reason}`);
  }
}

export interface SnapshotFileHeader {
  seq: number;
  bodyBytes: number;
  walChainCrc: number;
  /** Hex, as state_digest.ts prints it. */
  stateDigest: string;
}

export interface WrittenSnapshot {
  file: string;
  bytes: number;
}

/** Encodes and writes a snapshot atomically into `dir` (see writeSnapshotBytes). */
export function writeSnapshotFile(dir: string, content: Readonly<SnapshotContent>, layer: FileLayer = nodeFileLayer): WrittenSnapshot {
  return writeSnapshotBytes(dir, content.seq, encodeSnapshotBody(content), content.walChainCrc, content.digest.digest, layer);
}

/**
 * Writes an encoded snapshot body atomically into `dir` (created when missing). The caller has
 * verified the content (snapshot_taker.ts); this only makes it durable under its final name.
 */
export function writeSnapshotBytes(
  dir: string,
  seq: number,
  body: Uint8Array,
  walChainCrc: number,
  digestHex: string,
  layer: FileLayer = nodeFileLayer,
): WrittenSnapshot {
  const header = encodeHeader(seq, body, walChainCrc, digestHex);
  ensureDirectory(layer, dir);
  const file = path.join(dir, snapshotFileName(seq));
  const temp = file + SNAPSHOT_TEMP_SUFFIX;
  // 'w': a leftover .tmp of a crash while writing this very seq is garbage and may be replaced.
  const fd = layer.open(temp, 'w');
  try {
    writeFully(layer, fd, header, 0, header.length, 0);
    // Synced as it is written, a chunk at a time: on ext4 (data=ordered) the WAL's next fdatasync
    // must wait for whatever data of this file is dirty when it commits the journal, so one sync of
    // the whole body made the WAL's fsyncs stall up to ~10 ms (a 17 MB snapshot, measured here)
    // against ~6 ms in chunks of SNAPSHOT_SYNC_CHUNK_BYTES, and acknowledgements wait on those fsyncs.
    for (let at = 0; at < body.length; at += SNAPSHOT_SYNC_CHUNK_BYTES) {
      const length = Math.min(SNAPSHOT_SYNC_CHUNK_BYTES, body.length - at);
      writeFully(layer, fd, body, at, length, header.length + at);
      layer.fdatasync(fd);
    }
    if (body.length === 0) layer.fdatasync(fd);
  } catch (error) {
    closeAfterError(layer, fd);
    throw error;
  }
  layer.close(fd);
  layer.rename(temp, file);
  layer.fsyncDirectory(dir);
  return { file, bytes: header.length + body.length };
}

function ensureDirectory(layer: FileLayer, dir: string): void {
  if (layer.stat(dir) !== null) return;
  layer.mkdir(dir);
  layer.fsyncDirectory(path.dirname(dir));
}

function encodeHeader(seq: number, body: Uint8Array, walChainCrc: number, digestHex: string): Uint8Array {
  assert(/^[0-9a-f]{64}$/.test(digestHex), 'snapshot header: the state digest must be 64 hex digits');
  assert(Number.isInteger(walChainCrc) && walChainCrc >= 0 && walChainCrc <= 0xffffffff, 'snapshot header: bad chain crc');
  const header = new Uint8Array(SNAPSHOT_HEADER_BYTES);
  header.set(MAGIC_BYTES, MAGIC_OFFSET);
  writeU32(header, VERSION_OFFSET, SNAPSHOT_FORMAT_VERSION);
  writeU32(header, HEADER_BYTES_OFFSET, SNAPSHOT_HEADER_BYTES);
  writeSafeU64(header, SEQ_OFFSET, seq);
  writeSafeU64(header, BODY_BYTES_OFFSET, body.length);
  writeU32(header, WAL_CHAIN_CRC_OFFSET, walChainCrc);
  header.set(createHash('sha256').update(body).digest(), BODY_SHA256_OFFSET);
  header.set(Buffer.from(digestHex, 'hex'), STATE_DIGEST_OFFSET);
  writeU32(header, HEADER_CRC_OFFSET, crc32(header.subarray(0, HEADER_CRC_OFFSET), 0));
  return header;
}

/** Reads and checks only the header (cheap: for listings). Throws SnapshotReadError. */
export function readSnapshotHeader(file: string, layer: FileLayer = nodeFileLayer): SnapshotFileHeader {
  const stat = layer.stat(file);
  if (stat === null) throw new SnapshotReadError(file, 'missing');
  if (stat.size < SNAPSHOT_HEADER_BYTES) throw new SnapshotReadError(file, `truncated: ${stat.size} bytes, shorter than its header`);
  const bytes = new Uint8Array(SNAPSHOT_HEADER_BYTES);
  const fd = layer.open(file, 'r');
  try {
    readFully(layer, fd, bytes, 0, SNAPSHOT_HEADER_BYTES, 0);
  } finally {
    layer.close(fd);
  }
  return parseHeader(file, bytes, stat.size);
}

function parseHeader(file: string, bytes: Uint8Array, fileBytes: number): SnapshotFileHeader {
  const fail = (reason: string): never => {
    throw new SnapshotReadError(file, reason);
  };
  for (let i = 0; i < MAGIC_BYTES.length; i++) if (bytes[MAGIC_OFFSET + i] !== MAGIC_BYTES[i]) fail('bad magic: not a snapshot');
  if (crc32(bytes.subarray(0, HEADER_CRC_OFFSET), 0) !== readU32(bytes, HEADER_CRC_OFFSET)) fail('header checksum mismatch');
  const version = readU32(bytes, VERSION_OFFSET);
  if (version !== SNAPSHOT_FORMAT_VERSION) fail(`unsupported format version ${version} (this build reads ${SNAPSHOT_FORMAT_VERSION})`);
  if (readU32(bytes, HEADER_BYTES_OFFSET) !== SNAPSHOT_HEADER_BYTES) fail('bad header size');
  const seq = readSafeU64(bytes, SEQ_OFFSET);
  const bodyBytes = readSafeU64(bytes, BODY_BYTES_OFFSET);
  if (seq < 1) fail('bad seq');
  if (parseSnapshotFileName(path.basename(file)) !== seq) fail(`the header says seq ${seq}, the file name does not`);
  if (bodyBytes > SNAPSHOT_BYTES_MAX) fail(`body of ${bodyBytes} bytes is beyond SNAPSHOT_BYTES_MAX`);
  if (fileBytes < SNAPSHOT_HEADER_BYTES + bodyBytes) fail(`truncated: ${fileBytes} bytes, the header says ${SNAPSHOT_HEADER_BYTES + bodyBytes}`);
  if (fileBytes > SNAPSHOT_HEADER_BYTES + bodyBytes) fail(`${fileBytes - SNAPSHOT_HEADER_BYTES - bodyBytes} bytes after the body`);
  return {
    seq,
    bodyBytes,
    walChainCrc: readU32(bytes, WAL_CHAIN_CRC_OFFSET),
    stateDigest: Buffer.from(bytes.subarray(STATE_DIGEST_OFFSET, STATE_DIGEST_OFFSET + SHA256_BYTES)).toString('hex'),
  };
}

export interface LoadedSnapshotFile {
  file: string;
  header: SnapshotFileHeader;
  body: SnapshotBody;
  bytes: number;
}

/**
 * Reads a snapshot and verifies everything about the file: header checksum, size, body SHA-256,
 * msgpack structure, and that header and body agree (seq, chain crc, digest). The state inside is
 * decoded on demand (`body.core()`), and checked by whoever rebuilds it. Throws SnapshotReadError.
 */
export function readSnapshotFile(file: string, layer: FileLayer = nodeFileLayer): LoadedSnapshotFile {
  const stat = layer.stat(file);
  if (stat === null) throw new SnapshotReadError(file, 'missing');
  if (stat.size < SNAPSHOT_HEADER_BYTES) throw new SnapshotReadError(file, `truncated: ${stat.size} bytes, shorter than its header`);
  if (stat.size > SNAPSHOT_HEADER_BYTES + SNAPSHOT_BYTES_MAX) throw new SnapshotReadError(file, `${stat.size} bytes is beyond SNAPSHOT_BYTES_MAX`);
  const bytes = new Uint8Array(stat.size);
  const fd = layer.open(file, 'r');
  try {
    readFully(layer, fd, bytes, 0, stat.size, 0);
  } finally {
    layer.close(fd);
  }
  const header = parseHeader(file, bytes.subarray(0, SNAPSHOT_HEADER_BYTES), stat.size);
  const body = bytes.subarray(SNAPSHOT_HEADER_BYTES);
  const sha256 = createHash('sha256').update(body).digest();
  if (!sha256.equals(bytes.subarray(BODY_SHA256_OFFSET, BODY_SHA256_OFFSET + SHA256_BYTES))) {
    throw new SnapshotReadError(file, 'body checksum (SHA-256) mismatch');
  }
  let decoded: SnapshotBody;
  try {
    decoded = decodeSnapshotBody(body);
  } catch (error) {
    throw new SnapshotReadError(file, `unparsable body: ${(error as Error).message}`);
  }
  const meta = decoded.meta;
  if (meta.seq !== header.seq) throw new SnapshotReadError(file, `the body says seq ${meta.seq}, the header ${header.seq}`);
  if (meta.walChainCrc !== header.walChainCrc) throw new SnapshotReadError(file, 'header and body disagree on the chain crc');
  if (meta.digest.digest !== header.stateDigest) throw new SnapshotReadError(file, 'header and body disagree on the state digest');
  if (meta.digest.lastSeq !== header.seq) throw new SnapshotReadError(file, 'the digest is not of the state at the snapshot seq');
  return { file, header, body: decoded, bytes: stat.size };
}

/** Renames a snapshot recovery refused to `<name>.rejected` (never deleted); returns the new name. */
export function setSnapshotAside(file: string, layer: FileLayer = nodeFileLayer): string {
  let target = file + SNAPSHOT_REJECTED_SUFFIX;
  for (let attempt = 1; layer.stat(target) !== null; attempt++) {
    assert(attempt < 1000, `setSnapshotAside: no free name for ${file}`);
    target = `${file}${SNAPSHOT_REJECTED_SUFFIX}.${attempt}`;
  }
  layer.rename(file, target);
  layer.fsyncDirectory(path.dirname(file));
  return target;
}

/** Deletes a file and makes the deletion durable (retention of old snapshots and leftovers). */
export function removeFile(file: string, layer: FileLayer = nodeFileLayer): void {
  fs.unlinkSync(file);
  layer.fsyncDirectory(path.dirname(file));
}

export { SnapshotFormatError };
