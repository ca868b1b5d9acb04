import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { startDsqlLocal, type DsqlLocal } from '@dsql/local';
import { startApp, type App } from '../src/app.js';

// This file starts its own @dsql/local (not a globalSetup one): it injects an OCC conflict.
let local: DsqlLocal;
let app: App;

beforeAll(async () => {
  local = await startDsqlLocal();
  app = await startApp({ connection: local.connectionOptions(), max: 2 });
});

afterAll(async () => {
  await app?.stop();
  await local?.stop();
});

/** One sample of the Prometheus text format: `name{labels} value`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the exposition format's sample lines (our label values hold no escaped quotes). */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[k!] = v!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

async function scrape(): Promise<{ text: string; samples: Sample[] }> {
  const res = await fetch(`${app.url}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, samples: parse(text) };
}

/** `{ [label value]: sum }` of one series (`'*'` when the sample has no such label). */
function by(samples: Sample[], name: string, label?: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== name) continue;
    const k = label === undefined ? '*' : (s.labels[label] ?? '*');
    out[k] = (out[k] ?? 0) + s.value;
  }
  return out;
}

async function visit(page: string): Promise<{ visits: number; attempts: number }> {
  const res = await fetch(`${app.url}/visits/${page}`, { method: 'POST' });
  const body = (await res.json()) as { visits: number; attempts: number; error?: string };
  if (res.status !== 200) throw new Error(`POST /visits/${page}: ${res.status} ${body.error}`);
  return body;
}

it('serves dsql_client_* series on /metrics that count what the workload did', async () => {
  const attempts: number[] = [];
  // Sequential visits, then one whose COMMIT the endpoint refuses once with an OCC conflict
  // (retried by pool.transaction()), then a concurrent burst on one page (real conflicts, if any, retried too).
  for (let i = 0; i < 5; i++) attempts.push((await visit('home')).attempts);
  local.inject({ on: 'commit', error: { code: '40001', message: 'change conflicts with another transaction, please retry: (OC000)' }, times: 1 });
  const retried = await visit('home');
  expect(retried.attempts).toBe(2);
  attempts.push(retried.attempts);
  for (const r of await Promise.all(Array.from({ length: 6 }, () => visit('burst')))) attempts.push(r.attempts);

  const visits = attempts.length;
  const conflicts = attempts.reduce((a, b) => a + b - 1, 0);
  expect(await fetch(`${app.url}/visits/home`).then((r) => r.json())).toEqual({ page: 'home', visits: 6 });
  expect(await fetch(`${app.url}/visits/burst`).then((r) => r.json())).toEqual({ page: 'burst', visits: 6 });

  // A transaction's outcome is recorded before its call returns; poll (bounded) all the same.
  const deadline = Date.now() + 20_000;
  let scraped = await scrape();
  while ((by(scraped.samples, 'dsql_client_transaction_attempts_total', 'outcome').committed ?? 0) < visits) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${visits} committed transaction attempts on /metrics:\n${scraped.text}`);
    await new Promise((r) => setTimeout(r, 50));
    scraped = await scrape();
  }
  const { text, samples } = scraped;

  // Every attempt of every visit, by outcome; every retry was an OCC conflict.
  expect(by(samples, 'dsql_client_transaction_attempts_total', 'outcome')).toEqual(
    conflicts > 0 ? { committed: visits, occ_conflict: conflicts } : { committed: visits },
  );
  expect(conflicts).toBeGreaterThanOrEqual(1);
  expect(by(samples, 'dsql_client_occ_conflicts_total')).toEqual({ '*': conflicts });
  expect(by(samples, 'dsql_client_commit_unknown_total')).toEqual({});

  // The pool (max 2) opened one or two connections, each accepted (more only if pg's idle timeout
  // closed one on a slow machine, then counted as closed); one token signed and reused.
  const connects = by(samples, 'dsql_client_connect_attempts_total', 'outcome');
  const closed = Object.values(by(samples, 'dsql_client_connection_closed_total')).reduce((a, b) => a + b, 0);
  expect(Object.keys(connects)).toEqual(['ok']);
  expect(connects.ok).toBeGreaterThanOrEqual(1);
  expect(connects.ok).toBeLessThanOrEqual(2 + closed);
  expect(by(samples, 'db_client_connection_create_time_count')).toEqual({ '*': connects.ok });
  const createSeconds = by(samples, 'db_client_connection_create_time_sum')['*']!;
  expect(createSeconds).toBeGreaterThan(0);
  expect(createSeconds).toBeLessThan(60 * connects.ok!);
  // Buckets sized for seconds (cumulative, the last one counting every connection).
  const buckets = samples.filter((s) => s.name === 'db_client_connection_create_time_bucket');
  expect(buckets.map((s) => s.labels.le)).toEqual(['0.001', '0.005', '0.01', '0.05', '0.1', '0.5', '1', '5', '10', '+Inf']);
  expect(buckets.every((s, i) => i === 0 || s.value >= buckets[i - 1]!.value)).toBe(true);
  expect(buckets.at(-1)?.value).toBe(connects.ok);
  expect(by(samples, 'dsql_client_token_signings_total', 'outcome')).toEqual({ ok: 1 });
  expect(by(samples, 'dsql_client_credentials_resolutions_total', 'source')).toEqual({ static: 1 });

  // The pool's stats() counts what the metrics count (@dsql/core counts both at the same points).
  const stats = app.pool.stats();
  expect(stats.transactions.attempts).toMatchObject({ committed: visits, occ_conflict: conflicts, commit_unknown: 0 });
  expect(stats.connectAttempts.ok).toBe(connects.ok);
  expect(stats.tokens.signed).toBe(1);
  // db.client.connection.count (state idle / used) reads the pool's own numbers: the pool is at rest.
  const connectionCount = by(samples, 'db_client_connection_count', 'db_client_connection_state');
  expect(connectionCount.used).toBe(0);
  expect(connectionCount.idle).toBeGreaterThanOrEqual(0);
  expect(connectionCount.idle).toBeLessThanOrEqual(2);

  // Connection series name the endpoint and its Region.
  const connectSeries = samples.filter((s) => s.name === 'dsql_client_connect_attempts_total');
  expect(connectSeries.every((s) => s.labels.endpoint === local.host && s.labels.region === local.region)).toBe(true);

  // Nothing secret is exported.
  expect(text).not.toContain(local.credentials.secretAccessKey);
  expect(text).not.toMatch(/X-Amz-|Signature|password/i);
});

it('answers 404 for unknown routes and stops everything it started', async () => {
  expect((await fetch(`${app.url}/nope`)).status).toBe(404);
  const url = app.url;
  await app.stop();
  await app.stop(); // idempotent
  await expect(fetch(`${url}/metrics`)).rejects.toThrow();
  expect(app.pool.totalCount).toBe(0);
});
