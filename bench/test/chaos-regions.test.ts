/**
 * Chaos, multi-Region: money transfers run through every adapter (pg, Drizzle on node-postgres,
 * Postgres.js, Kysely on Postgres.js), each given both Regional endpoints of a local two-Region
 * cluster (`endpoints`, us-east-1 preferred), while a seeded schedule isolates us-east-1 and heals
 * it again, over and over, in every isolation mode: `refuse` (DSQL's unavailable answer, open
 * connections closed), `drop` (every connection reset) and `blackhole` (nothing answered: only
 * the health checks' timeout finds it). Each cycle waits for conditions, never for a time:
 * - after isolating, every adapter's router fails over from us-east-1 and every adapter commits
 *   transfers started after that (so through us-east-2: us-east-1 answers nothing), within 30 s;
 * - after healing, every adapter's router fails back to us-east-1 and a new application
 *   connection authenticates there, within 30 s.
 * Afterwards, read straight from PostgreSQL (as the single-endpoint chaos test does):
 * - the total balance is exactly the starting total, and every account's balance equals its
 *   start plus the transfers recorded for it;
 * - every transfer the application was told committed is in `transfers` once, none is there that
 *   the application never heard of; outcomes reported unknown (CommitOutcomeUnknownError, a
 *   COMMIT in flight when its Region went away) are looked up and reported;
 * - nothing else reached the application: no other error, no transfer left without an answer
 *   (25 s), no uncaught exception (jest fails the run on one);
 * - no token signed for one Region's host was presented to the other (both endpoints'
 *   auth-failure counters stay at zero), and no error text or console line holds a token or the
 *   secret key;
 * - every adapter ends within 10 s.
 *
 * Each worker moves money between accounts of its own, so OCC conflicts between workers cannot
 * use up a retry budget: any failure reaching the application is the failover's.
 *
 * Deterministic seed, printed; replay with CHAOS_SEED=<n> (the mode order and every choice replay;
 * timing on a shared machine does not). Each phase runs at least one cycle per mode, and goes on
 * cycling for CHAOS_SECONDS (default 8; `pnpm chaos` runs 60). CHAOS_DEBUG=1 prints progress.
 * Traffic goes to 127.0.0.1 only.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { DSQL_CHANNELS, DSQL_FAILOVER_CHANNELS, isCommitOutcomeUnknownError, type DsqlConnectEndMessage, type DsqlFailoverMessage } from '@dsql/core';
import { startDsqlLocalCluster, type DsqlLocalCluster } from '@dsql/local';
import pg from 'pg';
import { createAdapter, type Adapter, type AdapterName } from '../chaos/adapters.js';
import { describeFailure, endWithin } from '../chaos/outcomes.js';
import { checkLedger, createLedger, type TransferOutcome } from '../chaos/ledger.js';
import { seeded } from '../chaos/random.js';
import { watchSecrets } from '../chaos/secrets.js';

const SEED = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const SECONDS = Number(process.env.CHAOS_SECONDS ?? 8);
const DEBUG = process.env.CHAOS_DEBUG === '1';
const PREFERRED = 'us-east-1';
const OTHER = 'us-east-2';
const MODES = ['refuse', 'drop', 'blackhole'] as const;
type Mode = (typeof MODES)[number];
const START_BALANCE = 1_000;
const WORKERS = 3; // per adapter
const ACCOUNTS_PER_WORKER = 3;
const ADAPTER_ORDER: AdapterName[] = ['pg', 'drizzle', 'postgres', 'kysely'];
const ACCOUNTS = ADAPTER_ORDER.length * WORKERS * ACCOUNTS_PER_WORKER;
const LEDGER = { accounts: ACCOUNTS, startBalance: START_BALANCE };
/** A transfer that has not settled by then is reported as hung (and fails the run). */
const HUNG_MS = 25_000;
/** The bound on each condition a cycle waits for. */
const CONDITION_MS = 30_000;
/**
 * Health checks every ~300 ms, unanswered after 5 s (a blackholed Region is found in ~5.5 s);
 * an unhealthy endpoint is probed from 100 ms on, so failback follows heal quickly. `timeoutMs`
 * also bounds each connection attempt while the other Region is healthy (with nowhere else to
 * go, an attempt has the whole connect deadline): on a starved CI machine a healthy endpoint's
 * TLS + token handshake must not take that long, or it is marked unhealthy too.
 */
const PROBE = { baseDelayMs: 100, maxDelayMs: 400, timeoutMs: 5_000, intervalMs: 300 };
/** Generous: a failover retries the transaction on the other Region; a transfer must not fail for want of attempts. */
const RETRY = { maxAttempts: 20, baseDelayMs: 5, maxDelayMs: 500, maxElapsedMs: 20_000 };

type Outcome = TransferOutcome & { startedAt: number };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `condition` until it holds; throws naming `what` after `ms`. */
async function until(what: string, condition: () => boolean, ms = CONDITION_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await sleep(20);
  }
}

describe(`chaos, Region isolation (seed ${SEED}; replay with CHAOS_SEED=${SEED})`, () => {
  let cluster: DsqlLocalCluster;
  let direct: pg.Client;
  const open: Adapter[] = [];

  beforeAll(async () => {
    process.stderr.write(`chaos-regions: seed ${SEED} (replay with CHAOS_SEED=${SEED}), ${SECONDS} s per phase, at least one cycle per mode\n`);
    cluster = await startDsqlLocalCluster({ regions: [PREFERRED, OTHER] });
    direct = new pg.Client({ connectionString: cluster.endpoint(PREFERRED).upstreamUrl });
    await direct.connect();
    await createLedger(direct, LEDGER);
  }, 120_000);

  afterAll(async () => {
    cluster?.heal(PREFERRED);
    await Promise.all(open.map((a) => endWithin(a, 10_000)));
    await direct?.end().catch(() => undefined);
    await cluster?.stop();
  });

  async function phase(adapterNames: AdapterName[], phaseSeed: number): Promise<void> {
    const random = seeded(phaseSeed);
    const scan = watchSecrets();
    const adapters: Adapter[] = [];
    const outcomes: Outcome[] = [];
    const cycles: { mode: Mode; failoverMs: number; failbackMs: number }[] = [];
    let scheduleError: unknown;
    let drainAfterFailbackMs = 0;
    // What the routers and connections report (core's diagnostics channels).
    const failovers: { at: number; m: DsqlFailoverMessage }[] = [];
    const failbacks: { at: number; m: DsqlFailoverMessage }[] = [];
    const connected: { at: number; region: string }[] = [];
    const onFailover = (m: unknown) => failovers.push({ at: performance.now(), m: m as DsqlFailoverMessage });
    const onFailback = (m: unknown) => failbacks.push({ at: performance.now(), m: m as DsqlFailoverMessage });
    const onConnectEnd = (m: unknown) => {
      const e = m as DsqlConnectEndMessage;
      if (e.outcome === 'ok') connected.push({ at: performance.now(), region: e.region });
    };
    subscribe(DSQL_FAILOVER_CHANNELS.failover, onFailover);
    subscribe(DSQL_FAILOVER_CHANNELS.failback, onFailback);
    subscribe(DSQL_CHANNELS.connectEnd, onConnectEnd);
    const before = cluster.stats();
    try {
      // After failback, the connections left on us-east-2 are closed between uses (idle ones at
      // once, busy ones when released or at their next idle point): never mid-use, or a failure
      // would reach the application.
      drainAfterFailbackMs = random.int(0, 500);
      const options = {
        endpoints: cluster.endpoints.map((e) => e.connectionOptions()),
        endpointProbe: { ...PROBE, drainAfterFailbackMs },
        // Connections retire within seconds, so after failback the pools move back to us-east-1 soon.
        maxLifetimeSeconds: [2, 3],
      };
      for (const name of adapterNames) {
        const adapter = createAdapter(name, options, RETRY, (err) => scan.addError(`${name} background`, err));
        adapters.push(adapter);
        open.push(adapter);
      }
      let stopped = false;
      const inflight = new Map<string, string>();
      const workloads = adapters.flatMap((adapter) =>
        Array.from({ length: WORKERS }, async (_, w) => {
          const name = adapter.name as AdapterName;
          const choose = seeded(phaseSeed + 1 + ADAPTER_ORDER.indexOf(name) * 100 + w);
          const first = 1 + (ADAPTER_ORDER.indexOf(name) * WORKERS + w) * ACCOUNTS_PER_WORKER;
          for (let n = 0; !stopped; n++) {
            const from = first + choose.int(0, ACCOUNTS_PER_WORKER - 1);
            const to = first + ((from - first + choose.int(1, ACCOUNTS_PER_WORKER - 1)) % ACCOUNTS_PER_WORKER);
            const transfer = { id: `${name}-${w}-${n}`, from, to, amount: choose.int(1, 50) };
            inflight.set(`${name}-${w}`, transfer.id);
            const startedAt = performance.now();
            let timer: NodeJS.Timeout | undefined;
            try {
              const settled = await Promise.race([
                adapter.transfer(transfer).then(() => true),
                new Promise<false>((r) => (timer = setTimeout(() => r(false), HUNG_MS))),
              ]);
              outcomes.push({ transfer, adapter: name, startedAt, result: settled ? 'committed' : 'hung' });
              if (!settled) return; // this worker is stuck; the others go on
            } catch (err) {
              scan.addError(`${name} ${transfer.id}`, err);
              outcomes.push({ transfer, adapter: name, startedAt, result: isCommitOutcomeUnknownError(err) ? 'unknown' : 'failed', error: describeFailure(err) });
            } finally {
              clearTimeout(timer);
            }
          }
        }),
      );
      const progress = DEBUG ? setInterval(() => process.stderr.write(`chaos-regions: ${outcomes.length} outcomes; in flight ${[...inflight.values()].join(' ')}\n`), 2_000) : undefined;

      /** Transfers of `adapter` started after `since` and acknowledged. */
      const committedSince = (adapter: AdapterName, since: number) => outcomes.filter((o) => o.adapter === adapter && o.result === 'committed' && o.startedAt > since).length;
      const schedule = async () => {
        // Every adapter commits through the preferred Region first.
        await until(`every adapter (${adapterNames.join(', ')}) committing before the first isolation`, () => adapterNames.every((a) => committedSince(a, 0) >= 3));
        const deadline = Date.now() + SECONDS * 1000;
        const order = [...MODES].sort(() => random() - 0.5);
        for (let i = 0; i < MODES.length || Date.now() < deadline; i++) {
          const mode = order[i % MODES.length]!;
          if (DEBUG) process.stderr.write(`chaos-regions: isolate ${PREFERRED} (${mode})\n`);
          const isolatedAt = performance.now();
          cluster.isolate(PREFERRED, { mode });
          // Failover: every adapter's router moves new connections away from us-east-1 (its health
          // checks find even a blackhole, ~5.5 s), and each adapter commits transfers it started
          // afterwards (through us-east-2: us-east-1 answers nothing). Commits alone would prove
          // nothing when the pools' connections were all on us-east-2 already.
          await until(`every adapter's failover from ${PREFERRED} ('${mode}', cycle ${i + 1})`, () => failovers.filter((f) => f.at > isolatedAt && f.m.from.region === PREFERRED).length >= adapterNames.length);
          const failedOverAt = Math.max(...failovers.filter((f) => f.at > isolatedAt).map((f) => f.at));
          await until(`every adapter (${adapterNames.join(', ')}) committing through ${OTHER} after the failover ('${mode}', cycle ${i + 1})`, () =>
            adapterNames.every((a) => committedSince(a, failedOverAt) >= 2),
          );
          const failoverMs = performance.now() - isolatedAt;
          await sleep(random.int(0, 800));
          if (DEBUG) process.stderr.write(`chaos-regions: heal ${PREFERRED}\n`);
          const healedAt = performance.now();
          cluster.heal(PREFERRED);
          // Failback: every router that failed over moves new connections back, and one opens there.
          await until(`every adapter's failback to ${PREFERRED} after heal ('${mode}', cycle ${i + 1})`, () => failbacks.filter((f) => f.at > healedAt && f.m.to.region === PREFERRED).length >= adapterNames.length);
          const failedBackAt = Math.max(...failbacks.filter((f) => f.at > healedAt).map((f) => f.at));
          await until(`a new connection to ${PREFERRED} after failback ('${mode}', cycle ${i + 1})`, () => connected.some((c) => c.at > failedBackAt && c.region === PREFERRED));
          cycles.push({ mode, failoverMs, failbackMs: performance.now() - healedAt });
          await sleep(random.int(100, 500));
        }
      };
      try {
        await schedule();
      } catch (err) {
        scheduleError = err;
      } finally {
        cluster.heal(PREFERRED);
        stopped = true;
      }
      await Promise.all(workloads);
      clearInterval(progress);
    } finally {
      unsubscribe(DSQL_FAILOVER_CHANNELS.failover, onFailover);
      unsubscribe(DSQL_FAILOVER_CHANNELS.failback, onFailback);
      unsubscribe(DSQL_CHANNELS.connectEnd, onConnectEnd);
      scan.restore();
    }
    const ended = await Promise.all(adapters.map((a) => endWithin(a, 10_000)));
    const after = cluster.stats();

    // --- After the fact, straight from PostgreSQL ---
    const { hung, total, mismatched, committedMissing, unknown, unknownCommitted, recordedButNeverTold } = await checkLedger(direct, LEDGER, outcomes, adapterNames);
    // Only CommitOutcomeUnknownError may reach the application: anything else is a failover defect.
    const failures = outcomes.filter((o) => o.result === 'failed').map((o) => `${o.transfer.id}: ${o.error}`);
    const count = (a: AdapterName, r: Outcome['result']) => outcomes.filter((o) => o.adapter === a && o.result === r).length;
    const leaks = scan.leaks([cluster.endpoint(PREFERRED).credentials.secretAccessKey]);
    const authFailures = Object.fromEntries([PREFERRED, OTHER].map((r) => [r, after[r]!.authFailures]));
    const delta = (r: string, k: 'authenticated' | 'connectionsReset') => after[r]![k] - before[r]![k];
    const ms = (n: number) => `${Math.round(n)} ms`;
    console.log(
      [
        `chaos-regions seed ${SEED}, phase ${adapterNames.join(' + ')}: ${outcomes.length} transfers, total balance ${total} (start ${ACCOUNTS * START_BALANCE}), drainAfterFailbackMs ${drainAfterFailbackMs}`,
        ...adapterNames.map((a) => `  ${a.padEnd(8)} committed ${count(a, 'committed')}, told failed ${count(a, 'failed')}, unknown ${count(a, 'unknown')}`),
        `  cycles: ${cycles.map((c) => `${c.mode} (failover ${ms(c.failoverMs)}, failback ${ms(c.failbackMs)})`).join(', ')}`,
        `  failover events ${failovers.length}, failback events ${failbacks.length}; sessions authenticated ${PREFERRED} ${delta(PREFERRED, 'authenticated')}, ${OTHER} ${delta(OTHER, 'authenticated')}; connections reset by 'drop' ${delta(PREFERRED, 'connectionsReset')}`,
        `  hung (no answer after ${HUNG_MS / 1000} s): ${hung.length ? hung.join(', ') : 'none'}`,
        `  unknown outcomes: ${unknown.length} (looked up: ${unknownCommitted} had committed, ${unknown.length - unknownCommitted} had not)`,
        `  failures reaching the app: ${failures.length ? failures.slice(0, 10).join('; ') : 'none'}`,
        `  end(): ${adapterNames.map((a, i) => `${a} ${ended[i]}`).join(', ')}`,
        `  secrets: ${scan.tokens.length} tokens issued, ${scan.texts.length} texts scanned, ${leaks.length} leaks`,
      ].join('\n'),
    );

    const context = { seed: SEED, phase: adapterNames.join('+') };
    // The schedule's conditions held: failover within the bound after each isolation, failback after each heal.
    expect({ ...context, schedule: scheduleError === undefined ? 'ok' : String((scheduleError as Error).message ?? scheduleError) }).toEqual({ ...context, schedule: 'ok' });
    expect({ ...context, modes: [...new Set(cycles.map((c) => c.mode))].sort() }).toEqual({ ...context, modes: [...MODES].sort() });
    expect({ ...context, hung }).toEqual({ ...context, hung: [] });
    expect({ ...context, failures }).toEqual({ ...context, failures: [] });
    expect({ ...context, total }).toEqual({ ...context, total: BigInt(ACCOUNTS * START_BALANCE) });
    expect({ ...context, mismatched }).toEqual({ ...context, mismatched: [] });
    expect({ ...context, committedMissing }).toEqual({ ...context, committedMissing: [] });
    expect({ ...context, recordedButNeverTold }).toEqual({ ...context, recordedButNeverTold: [] });
    expect({ ...context, authFailures }).toEqual({ ...context, authFailures: { [PREFERRED]: {}, [OTHER]: {} } });
    expect({ ...context, leaks }).toEqual({ ...context, leaks: [] });
    expect({ ...context, ended }).toEqual({ ...context, ended: adapterNames.map(() => 'ended') });
    // The run did what it claims: both Regions served sessions, and tokens were issued (so the scan had something to look for).
    expect(delta(PREFERRED, 'authenticated')).toBeGreaterThan(0);
    expect(delta(OTHER, 'authenticated')).toBeGreaterThan(0);
    expect(scan.tokens.length).toBeGreaterThan(0);
  }

  it('node-postgres adapters (@dsql/pg, @dsql/drizzle): us-east-1 isolated and healed in every mode', async () => {
    await phase(['pg', 'drizzle'], SEED);
  });

  it('@dsql/postgres: us-east-1 isolated and healed in every mode', async () => {
    await phase(['postgres'], SEED + 7_919);
  });

  it('@dsql/kysely on dsql(): us-east-1 isolated and healed in every mode', async () => {
    await phase(['kysely'], SEED + 15_838);
  });
});
