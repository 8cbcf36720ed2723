/**
 * Summarizes V8 CPU profiles (.cpuprofile files written by `node --cpu-prof`): per profile (one
 * per thread), the functions with the most self time and, for the project's own code, the most
 * inclusive time, each named file:line so a hot spot can be found in the source.
 *
 * Usage: node --import tsx bench/profile_summary.ts DIR_OR_FILE... [--top N]
 * (`npm run bench -- --profile` writes profiles of the server and of the pipeline benchmark and
 * prints this summary.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotSpot {
  name: string;
  location: string;
  selfPercent: number;
  totalPercent: number;
}

export interface ProfileSummary {
  file: string;
  sampledMs: number;
  /** What was left out (see summarizeProfile), or undefined. */
  excluded: string | undefined;
  /** Share of samples that were not idle (program, GC and everything else). */
  busyPercent: number;
  gcPercent: number;
  /** Share of busy samples blocked in the doorbell's Atomics.wait or in fdatasync. */
  blockedPercent: number;
  bySelf: HotSpot[];
  /** Functions under src/ (and bench/) by inclusive time: the call paths that cost the most. */
  ownByTotal: HotSpot[];
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** One generated line of a source map: [generated column, source index, original line] triples. */
type MappedLine = number[];

interface SourceMap {
  sources: string[];
  lines: MappedLine[];
}

/** Decodes a version-3 source map's mappings (base64 VLQ) far enough to map a position to a line. */
function decodeSourceMap(mapFile: string): SourceMap {
  const raw = JSON.parse(fs.readFileSync(mapFile, 'utf8')) as { sources: string[]; sourceRoot?: string; mappings: string };
  const sources = raw.sources.map((source) => path.resolve(path.dirname(mapFile), raw.sourceRoot ?? '', source));
  const lines: MappedLine[] = [];
  let sourceIndex = 0;
  let originalLine = 0;
  let originalColumn = 0;
  for (const lineText of raw.mappings.split(';')) {
    const line: MappedLine = [];
    let generatedColumn = 0;
    for (const segment of lineText.split(',')) {
      if (segment === '') continue;
      const fields: number[] = [];
      let value = 0;
      let shift = 0;
      for (const char of segment) {
        const digit = BASE64.indexOf(char);
        value += (digit & 31) << shift;
        if ((digit & 32) !== 0) {
          shift += 5;
          continue;
        }
        fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
        value = 0;
        shift = 0;
      }
      generatedColumn += fields[0] ?? 0;
      if (fields.length >= 4) {
        sourceIndex += fields[1]!;
        originalLine += fields[2]!;
        originalColumn += fields[3]!;
        line.push(generatedColumn, sourceIndex, originalLine);
      }
    }
    lines.push(line);
  }
  return { sources, lines };
}

const sourceMaps = new Map<string, SourceMap | null>();

/** file:line of the original source for a generated position, when a .map sits beside the file. */
function originalPosition(file: string, lineNumber: number, columnNumber: number): { file: string; line: number } | undefined {
  let map = sourceMaps.get(file);
  if (map === undefined) {
    map = fs.existsSync(`${file}.map`) ? decodeSourceMap(`${file}.map`) : null;
    sourceMaps.set(file, map);
  }
  if (map === null) return undefined;
  const line = map.lines[lineNumber];
  if (line === undefined || line.length === 0) return undefined;
  let best = 0;
  for (let index = 0; index < line.length; index += 3) if (line[index]! <= columnNumber) best = index;
  return { file: map.sources[line[best + 1]!]!, line: line[best + 2]! + 1 };
}

export function location(frame: CallFrame): string {
  if (frame.url === '') return '(native)';
  let file = frame.url;
  let line = frame.lineNumber + 1;
  try {
    if (file.startsWith('file://')) file = fileURLToPath(file);
  } catch {
    // keep the url
  }
  const original = file.startsWith('/') ? originalPosition(file, frame.lineNumber, frame.columnNumber) : undefined;
  if (original !== undefined) {
    file = original.file;
    line = original.line;
  }
  const modules = file.lastIndexOf('/node_modules/');
  const marker = modules >= 0 ? modules : Math.max(file.lastIndexOf('/src/'), file.lastIndexOf('/bench/'));
  const short = marker >= 0 ? file.slice(marker + 1) : file;
  return `${short}:${line}`;
}

function isOwnCode(frame: CallFrame): boolean {
  return /\/(src|bench)\/.*\.(ts|js)$/.test(frame.url) && !frame.url.includes('/node_modules/');
}

/**
 * `exclude`: samples with a frame from a matching url anywhere on their stack are left out (e.g.
 * the benchmark's own set-up), so the percentages are of the rest.
 */
export function summarizeProfile(file: string, top = 15, exclude?: RegExp): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const excluded = (id: number): boolean => {
    if (exclude === undefined) return false;
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) if (exclude.test(byId.get(at)!.callFrame.url)) return true;
    return false;
  };
  // Self samples per node (hitCount is filled in by Node's --cpu-prof).
  let total = 0;
  let idle = 0;
  let gc = 0;
  let blocked = 0;
  const self = new Map<string, { name: string; location: string; samples: number }>();
  const inclusive = new Map<string, { name: string; location: string; samples: number }>();
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0 || excluded(node.id)) continue;
    total += hits;
    const frame = node.callFrame;
    if (frame.functionName === '(idle)') idle += hits;
    if (frame.functionName === '(garbage collector)') gc += hits;
    // A worker blocked in Atomics.wait (the doorbell, the snapshot worker's idle wait) or in fdatasync shows as busy in the profile.
    const waiting = (frame.functionName === 'sleep' && /ring\/doorbell\./.test(frame.url)) || (frame.functionName === 'idle' && /snapshot\/snapshot_worker\./.test(frame.url));
    if (waiting || frame.functionName === 'fdatasync') blocked += hits;
    const key = `${frame.functionName}@${location(frame)}`;
    const entry = self.get(key) ?? { name: frame.functionName || '(anonymous)', location: location(frame), samples: 0 };
    entry.samples += hits;
    self.set(key, entry);
    // Inclusive: every distinct own-code frame on the path to the root gets these samples once.
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parentOf.get(id)) {
      const ancestor = byId.get(id)!.callFrame;
      if (!isOwnCode(ancestor)) continue;
      const ancestorKey = `${ancestor.functionName}@${location(ancestor)}`;
      if (seen.has(ancestorKey)) continue;
      seen.add(ancestorKey);
      const entryTotal = inclusive.get(ancestorKey) ?? { name: ancestor.functionName || '(anonymous)', location: location(ancestor), samples: 0 };
      entryTotal.samples += hits;
      inclusive.set(ancestorKey, entryTotal);
    }
  }
  const busy = total - idle;
  const percentOfBusy = (samples: number): number => (busy === 0 ? 0 : (samples / busy) * 100);
  const toHotSpot = (entry: { name: string; location: string; samples: number }): HotSpot => ({
    name: entry.name,
    location: entry.location,
    selfPercent: percentOfBusy(self.get(`${entry.name}@${entry.location}`)?.samples ?? 0),
    totalPercent: percentOfBusy(inclusive.get(`${entry.name}@${entry.location}`)?.samples ?? entry.samples),
  });
  const bySelf = [...self.values()]
    .filter((entry) => entry.name !== '(idle)' && entry.name !== '(program)')
    .sort((a, b) => b.samples - a.samples)
    .slice(0, top)
    .map((entry) => ({ ...toHotSpot(entry), selfPercent: percentOfBusy(entry.samples) }));
  const ownByTotal = [...inclusive.values()]
    .sort((a, b) => b.samples - a.samples)
    .slice(0, top)
    .map((entry) => ({ ...toHotSpot(entry), totalPercent: percentOfBusy(entry.samples) }));
  return {
    file,
    sampledMs: (profile.endTime - profile.startTime) / 1000,
    excluded: exclude?.source,
    busyPercent: total === 0 ? 0 : (busy / total) * 100,
    gcPercent: percentOfBusy(gc),
    blockedPercent: percentOfBusy(blocked),
    bySelf,
    ownByTotal,
  };
}

export function formatProfileSummary(summary: ProfileSummary): string {
  const lines = [
    `${path.basename(summary.file)}: ${(summary.sampledMs / 1000).toFixed(1)} s sampled, busy ${summary.busyPercent.toFixed(0)}%, ` +
      `of which blocked (Atomics.wait, fdatasync) ${summary.blockedPercent.toFixed(0)}% and GC ${summary.gcPercent.toFixed(1)}%${summary.excluded === undefined ? '' : ` (samples under ${summary.excluded} left out)`}`,
    '  self time (% of busy samples):',
    ...summary.bySelf.map((spot) => `    ${spot.selfPercent.toFixed(1).padStart(5)}%  ${spot.name}  ${spot.location}`),
    '  own code by inclusive time:',
    ...summary.ownByTotal.map((spot) => `    ${spot.totalPercent.toFixed(1).padStart(5)}%  ${spot.name}  ${spot.location}`),
  ];
  return lines.join('\n');
}

export function profileFiles(target: string): string[] {
  if (fs.statSync(target).isDirectory()) {
    return fs
      .readdirSync(target)
      .filter((name) => name.endsWith('.cpuprofile'))
      .sort()
      .map((name) => path.join(target, name));
  }
  return [target];
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2);
  let top = 15;
  const targets: string[] = [];
  for (let index = 0; index < args.length; index += 1) {
    if (args[index] === '--top') top = Number(args[++index]);
    else targets.push(args[index]!);
  }
  for (const target of targets) for (const file of profileFiles(target)) console.log(formatProfileSummary(summarizeProfile(file, top)));
}
