/**
 * Replays the golden recordings through a real client (`pg`, TLS, a real IAM token) against a
 * running `@dsql/local`, and compares what it answers with what a real cluster answered:
 * outcome, SQLSTATE, message, command tag, and columns and rows unless `ignore_rows`.
 */
import { DsqlSigner } from '@aws-sdk/dsql-signer';
import pg from 'pg';
import type { DsqlLocal } from '../../src/index.js';
import { loadFixture, loadGolden, type GoldenCase, type GoldenFile, type GoldenObservation, type GoldenResult } from './golden.js';
import { OCC_SCENARIOS, type OccStep } from './occ-scenarios.js';

/** The verdict on one recorded case. */
export interface CaseResult {
  file: string;
  name: string;
  matched: boolean;
  /** Why it did not match: the first differing step. */
  reason?: string;
}

/** Per-file and total tallies. */
export interface ConformanceReport {
  title: string;
  cases: CaseResult[];
  files: Array<{ file: string; matched: number; checked: number }>;
  matched: number;
  checked: number;
}

/** What the emulator answered to one step, in the golden format. */
type Observed = GoldenObservation;

/** Array types of PostgreSQL's built-in scalars (`pg_type.typarray`). */
const ARRAY_TYPES = new Set([
  1000, 1001, 1002, 1003, 1005, 1007, 1009, 1014, 1015, 1016, 1021, 1022, 1028, 1115, 1182, 1183, 1185, 1231, 2951,
]);

/** Cells as the recording client printed them (a Go client: see golden/README.md). */
export function recordingFormat(value: string | null, typeOid: number): string {
  if (value === null) return 'NULL';
  // uuid: printed as its 16 bytes.
  if (typeOid === 2950) {
    const bytes = Buffer.from(value.replace(/-/g, ''), 'hex');
    return `[${[...bytes].join(' ')}]`;
  }
  // inet: printed as a prefix.
  if (typeOid === 869) return value.includes('/') ? value : `${value}/${value.includes(':') ? 128 : 32}`;
  // one-dimensional arrays of simple values: printed space-separated in brackets.
  if (ARRAY_TYPES.has(typeOid) && value.startsWith('{') && value.endsWith('}') && !value.includes('"')) {
    return `[${value.slice(1, -1).split(',').join(' ')}]`;
  }
  return value;
}

const rawText = { getTypeParser: () => (value: string) => value };

/** A node-postgres client that verifies the endpoint's certificate and signs in with a real token. */
export async function connect(dsql: DsqlLocal): Promise<{ client: pg.Client; tags: string[] }> {
  const signer = new DsqlSigner({ hostname: dsql.host, region: dsql.region, credentials: dsql.credentials });
  const client = new pg.Client({
    host: dsql.hostaddr,
    port: dsql.port,
    user: 'admin',
    database: 'postgres',
    password: await signer.getDbConnectAdminAuthToken(),
    ssl: { ca: dsql.ca, servername: dsql.host },
    types: rawText as unknown as pg.CustomTypesConfig,
    connectionTimeoutMillis: 10_000,
    query_timeout: 20_000,
  });
  client.on('error', () => {});
  const tags: string[] = [];
  await client.connect();
  // pg keeps only the first word of a command tag; the wire message has all of it.
  (client as unknown as { connection: NodeJS.EventEmitter }).connection.on('commandComplete', (m: { text: string }) =>
    tags.push(m.text),
  );
  return { client, tags };
}

/** Runs one step and describes the answer in the golden format. */
export async function observe(session: { client: pg.Client; tags: string[] }, sql: string): Promise<Observed> {
  session.tags.length = 0;
  try {
    const answer = (await session.client.query({ text: sql, rowMode: 'array' })) as pg.QueryResult | pg.QueryResult[];
    const results: GoldenResult[] = (Array.isArray(answer) ? answer : [answer]).map((r, i) => ({
      command_tag: session.tags[i] ?? r.command,
      ...(r.fields.length ? { columns: r.fields.map((f) => f.name) } : {}),
      ...(r.fields.length
        ? { rows: (r.rows as (string | null)[][]).map((row) => row.map((v, k) => recordingFormat(v, r.fields[k]!.dataTypeID))) }
        : {}),
    }));
    return Array.isArray(answer) ? { outcome: 'ok', results } : { outcome: 'ok', ...results[0]! };
  } catch (error) {
    const e = error as { code?: string; message: string };
    if (!e.code) throw error;
    return { outcome: 'error', sqlstate: e.code, message: e.message };
  }
}

const describe = (o: Observed): string =>
  o.outcome === 'error' ? `error ${o.sqlstate} ${o.message}` : `ok ${JSON.stringify(o.results ?? o)}`;

/** `SELECT 63` → `SELECT`: with `ignore_rows` the count in a tag is row data too. */
const tagWithoutCount = (tag: string): string => tag.replace(/^(SELECT|FETCH|MOVE) \d+$/, '$1');

/** DSQL job ids are random: a `job_id` cell matches any id of DSQL's shape. */
const JOB_ID = /^[a-z0-9]{26}$/;

function sameRows(expected: GoldenResult, actual: GoldenResult): boolean {
  const want = expected.rows ?? [];
  const got = actual.rows ?? [];
  if (want.length !== got.length) return false;
  return want.every((row, r) =>
    row.length === got[r]!.length &&
    row.every((cell, c) =>
      expected.columns?.[c] === 'job_id' ? JOB_ID.test(cell) && JOB_ID.test(got[r]![c]!) : cell === got[r]![c],
    ),
  );
}

function compareResult(expected: GoldenResult, actual: GoldenResult, ignoreRows: boolean): string | undefined {
  const tagOf = ignoreRows ? tagWithoutCount : (t: string) => t;
  if (tagOf(expected.command_tag) !== tagOf(actual.command_tag ?? '')) {
    return `tag ${actual.command_tag}, expected ${expected.command_tag}`;
  }
  if (expected.columns && JSON.stringify(expected.columns) !== JSON.stringify(actual.columns)) {
    return `columns ${JSON.stringify(actual.columns)}, expected ${JSON.stringify(expected.columns)}`;
  }
  if (!ignoreRows && expected.columns && !sameRows(expected, actual)) {
    return `rows ${JSON.stringify(actual.rows)}, expected ${JSON.stringify(expected.rows ?? [])}`;
  }
  return undefined;
}

/** The difference between a recorded and an observed answer, or `undefined` if they match. */
export function compare(expected: Observed, actual: Observed, ignoreRows: boolean): string | undefined {
  if (expected.outcome !== actual.outcome) return `${describe(actual)}, expected ${describe(expected)}`;
  if (expected.outcome === 'error' && actual.outcome === 'error') {
    if (expected.sqlstate !== actual.sqlstate || expected.message !== actual.message) {
      return `${actual.sqlstate} "${actual.message}", expected ${expected.sqlstate} "${expected.message}"`;
    }
    return undefined;
  }
  if (expected.outcome !== 'ok' || actual.outcome !== 'ok') return undefined;
  const want = expected.results ?? [expected as GoldenResult];
  const got = actual.results ?? [actual as GoldenResult];
  if (want.length !== got.length) return `${got.length} results, expected ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    const diff = compareResult(want[i]!, got[i]!, ignoreRows);
    if (diff) return want.length > 1 ? `statement ${i + 1}: ${diff}` : diff;
  }
  return undefined;
}

async function replaySteps(dsql: DsqlLocal, golden: GoldenCase): Promise<string | undefined> {
  const session = await connect(dsql);
  try {
    for (let i = 0; i < golden.steps!.length; i++) {
      const sql = golden.steps![i]!;
      const actual = await observe(session, sql);
      const diff = compare(golden.observations![i]!, actual, golden.ignore_rows ?? false);
      if (diff) return `step ${i + 1} (${sql.replace(/\s+/g, ' ').slice(0, 80)}): ${diff}`;
    }
    return undefined;
  } finally {
    await session.client.end().catch(() => {});
  }
}

/** Runs a two-session scenario; each session's observations in order. */
async function runScenario(dsql: DsqlLocal, steps: readonly OccStep[]): Promise<Observed[][]> {
  const sessions = [await connect(dsql), await connect(dsql)];
  const seen: Observed[][] = [[], []];
  try {
    for (const [who, sql] of steps) seen[who]!.push(await observe(sessions[who]!, sql));
    return seen;
  } finally {
    await Promise.all(sessions.map((s) => s.client.end().catch(() => {})));
  }
}

const isOccLoss = (o: Observed | undefined): boolean => o?.outcome === 'error' && o.sqlstate === '40001';

async function replayConflict(dsql: DsqlLocal, golden: GoldenCase): Promise<string | undefined> {
  const steps = OCC_SCENARIOS[golden.name];
  if (!steps) return 'no two-session scenario written for this case';
  const seen = await runScenario(dsql, steps);
  if (golden.record_only) {
    // Only "exactly one side lost, with 40001 at COMMIT" can be checked.
    const lost = seen.filter((s) => isOccLoss(s[s.length - 1]));
    const othersOk = seen.every((s) => s.slice(0, -1).every((o) => o.outcome === 'ok'));
    const winnerOk = seen.some((s) => s[s.length - 1]?.outcome === 'ok');
    if (lost.length === 1 && othersOk && winnerOk) return undefined;
    return `expected exactly one COMMIT to fail with 40001; saw ${JSON.stringify(seen.map((s) => s.map(describe)))}`;
  }
  for (let k = 0; k < 2; k++) {
    const want = golden.sessions![k]!;
    for (let i = 0; i < want.length; i++) {
      const diff = compare(want[i]!, seen[k]![i] ?? { outcome: 'ok', command_tag: '(none)' }, true);
      if (diff) return `session ${k + 1} step ${i + 1}: ${diff}`;
    }
  }
  return undefined;
}

/** Drops what an earlier run left (children first), then creates the fixture, one statement at a time. */
export async function createFixture(dsql: DsqlLocal, statements: readonly string[] = loadFixture()): Promise<void> {
  const tables = statements.map((s) => /^CREATE TABLE (\w+)/.exec(s)?.[1]).filter((t): t is string => !!t);
  const session = await connect(dsql);
  try {
    for (const table of [...tables].reverse()) await session.client.query(`DROP TABLE IF EXISTS ${table} CASCADE`);
    for (const sql of statements) await session.client.query(sql);
  } finally {
    await session.client.end().catch(() => {});
  }
}

/** A set of cases to replay: recording files (or probe files in their format) and their fixture. */
export interface CaseSet {
  /** The report's heading. */
  title: string;
  files: readonly GoldenFile[];
  fixture: readonly string[];
}

/**
 * Creates the set's fixture and replays every case, in file order.
 *
 * @example
 * const report = await replaySet(await startDsqlLocal(), { title: 'probes', files: PROBE_FILES, fixture: PROBE_FIXTURE });
 */
export async function replaySet(dsql: DsqlLocal, set: CaseSet): Promise<ConformanceReport> {
  await createFixture(dsql, set.fixture);
  const cases: CaseResult[] = [];
  const files: ConformanceReport['files'] = [];
  for (const { file, cases: goldens } of set.files) {
    let matched = 0;
    for (const golden of goldens) {
      let reason: string | undefined;
      try {
        reason = golden.steps ? await replaySteps(dsql, golden) : await replayConflict(dsql, golden);
      } catch (error) {
        reason = `client failure: ${(error as Error).message}`;
      }
      cases.push({ file, name: golden.name, matched: !reason, ...(reason ? { reason } : {}) });
      if (!reason) matched++;
    }
    files.push({ file, matched, checked: goldens.length });
  }
  const matched = cases.filter((c) => c.matched).length;
  return { title: set.title, cases, files, matched, checked: cases.length };
}

/**
 * Creates the fixture and replays every recorded case, in recording order.
 *
 * @example
 * const report = await replayGolden(await startDsqlLocal());
 * console.log(`${report.matched} / ${report.checked}`);
 */
export function replayGolden(dsql: DsqlLocal): Promise<ConformanceReport> {
  return replaySet(dsql, { title: 'DSQL conformance (golden recordings of a real cluster)', files: loadGolden(), fixture: loadFixture() });
}

/** The report as the `conformance` script prints it: matched / checked per file, then every miss. */
export function formatReport(report: ConformanceReport): string {
  const lines = [report.title, ''];
  for (const f of report.files) lines.push(`  ${f.file.padEnd(22)} ${String(f.matched).padStart(3)} / ${f.checked}`);
  const pct = ((100 * report.matched) / report.checked).toFixed(1);
  lines.push('', `  ${'total'.padEnd(22)} ${String(report.matched).padStart(3)} / ${report.checked}  (${pct} %)`);
  const unmatched = report.cases.filter((c) => !c.matched);
  if (unmatched.length) {
    lines.push('', 'Unmatched:');
    for (const c of unmatched) lines.push(`  ${c.file} ${c.name}: ${c.reason}`);
  }
  return `${lines.join('\n')}\n`;
}
