/**
 * Loads the recordings of a real Aurora DSQL cluster (`golden/`, see its README and LICENSE):
 * the specification the SQL rules and the conformance run are checked against.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One statement's recorded result (single statement or one of a multi-statement query). */
export interface GoldenResult {
  command_tag: string;
  columns?: string[];
  rows?: string[][];
}

/** What the cluster answered to one step. */
export type GoldenObservation =
  | { outcome: 'error'; sqlstate: string; message: string }
  | ({ outcome: 'ok'; results?: GoldenResult[] } & Partial<GoldenResult>);

/** A recorded probe: steps run in order on one connection. */
export interface GoldenCase {
  name: string;
  group: string;
  note?: string;
  steps: string[] | null;
  observations?: GoldenObservation[];
  sessions?: GoldenObservation[][];
  ignore_rows?: boolean;
  simple_protocol?: boolean;
  record_only?: boolean;
  known_gap?: string;
}

/** One recording file. */
export interface GoldenFile {
  file: string;
  cases: GoldenCase[];
}

/** The folder holding the recordings. */
export const goldenDir = join(dirname(fileURLToPath(import.meta.url)), 'golden');

/** Every recording file, in name order (the order the cases were recorded in within a file). */
export function loadGolden(): GoldenFile[] {
  return readdirSync(goldenDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, cases: JSON.parse(readFileSync(join(goldenDir, file), 'utf8')).cases as GoldenCase[] }));
}

/** The fixture's statements (each to be run on its own), comments removed. */
export function loadFixture(): string[] {
  return readFileSync(join(goldenDir, 'fixture.sql'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('--'))
    .map((line) => line.replace(/;\s*$/, ''));
}

/** The command tags of an ok observation, one per statement. */
export function observedTags(obs: GoldenObservation): string[] {
  if (obs.outcome !== 'ok') return [];
  return obs.results ? obs.results.map((r) => r.command_tag) : [obs.command_tag ?? ''];
}
