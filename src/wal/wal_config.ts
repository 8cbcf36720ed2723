/**
 * WAL configuration and its limits, validated at start-up (STYLE.md: a limit on everything).
 */
import { RECORD_BYTES_MAX } from './record_codec.ts';
import { SEGMENT_HEADER_BYTES } from './segment_file.ts';

/** 'fsync' (default): fdatasync after every batch. 'none': no fdatasync, for benchmarks only. */
export type WalDurability = 'fsync' | 'none';

export interface WalConfig {
  /** The data directory; the WAL lives in `<dataDir>/wal/`. */
  dataDir: string;
  /** A segment is rotated before a batch would take it past this size. */
  segmentBytesMax: number;
  /** Records one batch (one write + one fdatasync) holds at most. */
  batchRecordsMax: number;
  /** Bytes one batch holds at most: the size of the preallocated batch buffer. */
  batchBytesMax: number;
  durability: WalDurability;
}

export const WAL_SEGMENT_BYTES_DEFAULT = 64 * 1024 * 1024;
export const WAL_SEGMENT_BYTES_MAX = 1024 * 1024 * 1024;
/** Chosen by measurement (bench/wal_bench.ts): past ~4096 records per fdatasync the gain flattens. */
export const WAL_BATCH_RECORDS_DEFAULT = 4096;
export const WAL_BATCH_RECORDS_MAX = 1 << 20;
/** Room for WAL_BATCH_RECORDS_DEFAULT records of the largest size. */
export const WAL_BATCH_BYTES_DEFAULT = 1024 * 1024;
export const WAL_BATCH_BYTES_MAX = 64 * 1024 * 1024;

export function walConfig(dataDir: string, overrides: Partial<Omit<WalConfig, 'dataDir'>> = {}): WalConfig {
  return {
    dataDir,
    segmentBytesMax: overrides.segmentBytesMax ?? WAL_SEGMENT_BYTES_DEFAULT,
    batchRecordsMax: overrides.batchRecordsMax ?? WAL_BATCH_RECORDS_DEFAULT,
    batchBytesMax: overrides.batchBytesMax ?? WAL_BATCH_BYTES_DEFAULT,
    durability: overrides.durability ?? 'fsync',
  };
}

/** Every problem with a configuration, as messages; empty when it is valid. */
export function validateWalConfig(config: WalConfig): string[] {
  const errors: string[] = [];
  const check = (name: 'segmentBytesMax' | 'batchRecordsMax' | 'batchBytesMax', min: number, max: number): void => {
    const value = config[name];
    if (!Number.isInteger(value) || value < min || value > max) errors.push(`WAL ${name} must be an integer from ${min} to ${max}`);
  };
  if (typeof config.dataDir !== 'string' || config.dataDir === '') errors.push('WAL dataDir must be a non-empty path');
  check('batchRecordsMax', 1, WAL_BATCH_RECORDS_MAX);
  check('batchBytesMax', RECORD_BYTES_MAX, WAL_BATCH_BYTES_MAX);
  check('segmentBytesMax', SEGMENT_HEADER_BYTES + RECORD_BYTES_MAX, WAL_SEGMENT_BYTES_MAX);
  if (config.batchBytesMax + SEGMENT_HEADER_BYTES > config.segmentBytesMax) {
    errors.push('WAL batchBytesMax plus the segment header must fit in segmentBytesMax (a batch never spans segments)');
  }
  if (config.durability !== 'fsync' && config.durability !== 'none') errors.push("WAL durability must be 'fsync' or 'none'");
  return errors;
}
