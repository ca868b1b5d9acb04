/**
 * Chaos: money transfers run through every adapter (pg, Drizzle on node-postgres, Postgres.js,
 * Kysely on Postgres.js) against one local DSQL endpoint while faults are injected at random:
 * dropped connections (mid-transaction and with COMMIT in flight), injected 40001 / XX000 /
 * 53400 / access-denied refusals, endpoint restarts, credential provider outages, and tokens and
 * credentials that expire every few seconds. Afterwards, read straight from PostgreSQL:
 * - the total balance is exactly the starting total, and every account's balance equals its
 *   start plus the transfers recorded for it (no half-applied transfer);
 * - every transfer the application was told committed is in `transfers`, every one told failed
 *   is not, none is there that the application never heard of; outcomes reported unknown
 *   (CommitOutcomeUnknownError) are looked up and reported;
 * - no error message, stack, util.inspect output or console line holds a token, a signature,
 *   the secret key or anything token-shaped (core's redact patterns);
 * - no connection ever presented an expired token (the endpoint counts them).
 *
 * Three phases share the endpoint, each with every fault: the node-postgres adapters (@dsql/pg,
 * @dsql/drizzle); @dsql/postgres; @dsql/kysely on dsql(). (CHAOS_PGJS_ALL=1, which gave the
 * Postgres.js phases every fault while they did not survive lost connections, is accepted and
 * changes nothing.) A transfer that does not settle within 20 s counts as hung and fails the run
 * (instead of the test timing out); an uncaught exception fails it too.
 *
 * Deterministic seed, printed; replay with CHAOS_SEED=<n> (the fault schedule and every choice
 * replay; timing on a shared machine does not). CHAOS_SECONDS sets each phase's length (default
 * 8; `pnpm chaos` runs 60), CHAOS_DEBUG=1 prints progress.
 */
import { isCommitOutcomeUnknownError } from '@dsql/core';
import pg from 'pg';
import { createAdapter, type Adapter, type AdapterName } from '../chaos/adapters.js';
import { describeFailure, endWithin } from '../chaos/outcomes.js';
import { checkLedger, createLedger, type TransferOutcome } from '../chaos/ledger.js';
import { startRestartableEndpoint, type RestartableEndpoint } from '../chaos/endpoint.js';
import { seeded, type Random } from '../chaos/random.js';
import { watchSecrets } from '../chaos/secrets.js';

const SEED = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const SECONDS = Number(process.env.CHAOS_SECONDS ?? 8);
const DEBUG = process.env.CHAOS_DEBUG === '1';
const START_BALANCE = 1_000;
const WORKERS = 3; // per adapter
/**
 * Accounts per worker. By default every worker of a phase moves money between all the phase's
 * accounts, so transfers also meet real write-write conflicts (OCC emulated by @dsql/local) on top
 * of the injected faults — a doomed transaction hit by a `drop` fault must not commit either
 * (fixed in 2dc4df3). CHAOS_SHARED=0 gives each worker accounts of its own (conflicts then come
 * only from the injected 40001s).
 */
const ACCOUNTS_PER_WORKER = 3;
const SHARED = process.env.CHAOS_SHARED !== '0';
const ADAPTER_ORDER: AdapterName[] = ['pg', 'drizzle', 'postgres', 'kysely'];
const ACCOUNTS = ADAPTER_ORDER.length * WORKERS * ACCOUNTS_PER_WORKER;
const LEDGER = { accounts: ACCOUNTS, startBalance: START_BALANCE };

const FAULT_KINDS = ['drop-mid-transaction', 'drop-commit', 'occ-at-commit', 'server-unavailable', 'rate-exceeded', 'access-denied', 'restart', 'credentials-outage'] as const;
type FaultKind = (typeof FAULT_KINDS)[number];
/** Faults armed on statements or COMMIT (they always meet the workload). */
const TRANSACTION_FAULTS: readonly FaultKind[] = ['drop-mid-transaction', 'drop-commit', 'occ-at-commit', 'server-unavailable'];

type Outcome = TransferOutcome;

/** A transfer that has not settled by then is reported as hung (and fails the run). */
const HUNG_MS = 20_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`chaos (seed ${SEED}; replay with CHAOS_SEED=${SEED})`, () => {
  let endpoint: RestartableEndpoint;
  let direct: pg.Client;
  const open: Adapter[] = [];

  beforeAll(async () => {
    process.stderr.write(`chaos: seed ${SEED} (replay with CHAOS_SEED=${SEED}), ${SECONDS} s per phase\n`);
    endpoint = await startRestartableEndpoint({ maxConnectionAgeSeconds: 5, connectRate: { perSecond: 200, burst: 100 } });
    direct = new pg.Client({ connectionString: endpoint.upstreamUrl });
    await direct.connect();
    await createLedger(direct, LEDGER);
  });

  afterAll(async () => {
    await Promise.all(open.map((a) => endWithin(a, 10_000)));
    await direct?.end().catch(() => undefined);
    await endpoint?.stop();
  });

  /** Injects one fault of `kind` (restarts and outages take a moment; the others are armed). */
  async function fault(kind: FaultKind, random: Random, credentials: { down: boolean }): Promise<void> {
    switch (kind) {
      case 'drop-mid-transaction':
        return endpoint.inject({ on: 'query', match: random() < 0.5 ? 'UPDATE accounts' : 'INSERT INTO transfers', drop: true, times: random.int(1, 3) });
      case 'drop-commit':
        return endpoint.inject({ on: 'commit', drop: true, times: random.int(1, 2) });
      case 'occ-at-commit':
        return endpoint.inject({ on: 'commit', error: { code: '40001', message: 'change conflicts with another transaction (OC000)' }, times: random.int(1, 4) });
      case 'server-unavailable':
        return endpoint.inject({ on: 'query', match: 'UPDATE accounts', error: { code: 'XX000', message: 'server unavailable' }, times: random.int(1, 3) });
      case 'rate-exceeded':
        return endpoint.inject({ on: 'connect', error: { code: '53400', message: 'Unable to accept connection, rate exceeded.' }, times: random.int(1, 5) });
      case 'access-denied':
        // What DSQL answers a token it holds expired or invalid.
        return endpoint.inject({ on: 'connect', error: { code: '08006', message: 'unable to accept connection, access denied' } });
      case 'restart':
        return endpoint.restart(random.int(50, 300));
      case 'credentials-outage':
        credentials.down = true;
        await sleep(random.int(200, 1_200));
        credentials.down = false;
    }
  }

  async function phase(adapterNames: AdapterName[], allowed: readonly FaultKind[], phaseSeed: number): Promise<void> {
    // CHAOS_FAULTS=kind,kind narrows the schedule (to chase a failure).
    const kinds = allowed.filter((k) => !process.env.CHAOS_FAULTS || process.env.CHAOS_FAULTS.split(',').includes(k));
    const random = seeded(phaseSeed);
    const scan = watchSecrets();
    const credentials = { down: false, calls: 0 };
    const adapters: Adapter[] = [];
    const outcomes: Outcome[] = [];
    const faults = new Map<FaultKind, number>();
    const before = endpoint.stats();
    const restartsBefore = endpoint.restarts();
    try {
      const options = {
        host: endpoint.host,
        hostaddr: endpoint.hostaddr,
        port: endpoint.port,
        region: endpoint.region,
        user: 'admin',
        database: 'postgres',
        ssl: { ca: endpoint.ca },
        tokenDurationSecs: 6, // refreshed 1.5 s before expiry: many tokens expire during a run
        maxLifetimeSeconds: [3, 4], // connections retire before the endpoint's 5 s age limit
        // Temporary credentials that expire every 4 s, from a provider that can be down.
        credentials: async () => {
          credentials.calls++;
          if (credentials.down) throw new Error('connect ECONNREFUSED 169.254.170.2:80 (container credentials endpoint down)');
          return { ...endpoint.credentials, expiration: new Date(Date.now() + 4_000) };
        },
      };
      const retry = { maxAttempts: 6, baseDelayMs: 5, maxDelayMs: 200, maxElapsedMs: 5_000 };
      for (const name of adapterNames) {
        const adapter = createAdapter(name, options, retry, (err) => scan.addError(`${name} background`, err));
        adapters.push(adapter);
        open.push(adapter);
      }
      const deadline = Date.now() + SECONDS * 1000;

      // The fault schedule: every kind once per round, in a seeded order, at seeded intervals.
      const chaos = (async () => {
        while (Date.now() < deadline) {
          for (const kind of [...kinds].sort(() => random() - 0.5)) {
            await sleep(random.int(100, 400));
            if (Date.now() >= deadline) break;
            faults.set(kind, (faults.get(kind) ?? 0) + 1);
            if (DEBUG) process.stderr.write(`chaos: ${kind}\n`);
            await fault(kind, random, credentials);
          }
        }
      })();

      const inflight = new Map<string, string>();
      const workloads = adapters.flatMap((adapter) =>
        Array.from({ length: WORKERS }, async (_, w) => {
          const name = adapter.name as AdapterName;
          const choose = seeded(phaseSeed + 1 + ADAPTER_ORDER.indexOf(name) * 100 + w);
          const slot = ADAPTER_ORDER.indexOf(name) * WORKERS + w;
          const [first, count] = SHARED ? [1 + ADAPTER_ORDER.indexOf(adapterNames[0]!) * WORKERS * ACCOUNTS_PER_WORKER, adapterNames.length * WORKERS * ACCOUNTS_PER_WORKER] : [1 + slot * ACCOUNTS_PER_WORKER, ACCOUNTS_PER_WORKER];
          for (let n = 0; Date.now() < deadline; n++) {
            const from = first + choose.int(0, count - 1);
            const to = first + ((from - first + choose.int(1, count - 1)) % count);
            const transfer = { id: `${name}-${w}-${n}`, from, to, amount: choose.int(1, 50) };
            inflight.set(`${name}-${w}`, transfer.id);
            let timer: NodeJS.Timeout | undefined;
            try {
              const settled = await Promise.race([
                adapter.transfer(transfer).then(() => true),
                new Promise<false>((r) => (timer = setTimeout(() => r(false), HUNG_MS))),
              ]);
              outcomes.push({ transfer, adapter: name, result: settled ? 'committed' : 'hung' });
              if (!settled) return; // this worker is stuck; the others go on
            } catch (err) {
              scan.addError(`${name} ${transfer.id}`, err);
              outcomes.push({ transfer, adapter: name, result: isCommitOutcomeUnknownError(err) ? 'unknown' : 'failed', error: describeFailure(err) });
            } finally {
              clearTimeout(timer);
            }
          }
        }),
      );
      const progress = DEBUG ? setInterval(() => process.stderr.write(`chaos: ${outcomes.length} outcomes; in flight ${[...inflight.values()].join(' ')}\n`), 2_000) : undefined;
      await Promise.all([chaos, ...workloads]);
      clearInterval(progress);
      credentials.down = false;
    } finally {
      scan.restore();
    }
    const ended = await Promise.all(adapters.map((a) => endWithin(a, 10_000)));
    const after = endpoint.stats();

    // --- After the fact, straight from PostgreSQL ---
    const { hung, total, mismatched, committedMissing, failedPresent, unknown, unknownCommitted, recordedButNeverTold } = await checkLedger(direct, LEDGER, outcomes, adapterNames);
    const count = (a: AdapterName, r: Outcome['result']) => outcomes.filter((o) => o.adapter === a && o.result === r).length;
    const failureKinds = new Map<string, number>();
    for (const o of outcomes) if (o.result === 'failed') failureKinds.set(`${o.adapter}:${o.error}`, (failureKinds.get(`${o.adapter}:${o.error}`) ?? 0) + 1);
    const leaks = scan.leaks([endpoint.credentials.secretAccessKey]);
    const expired = (after.authFailures.expired ?? 0) - (before.authFailures.expired ?? 0);
    const injected = after.injectedFaults - before.injectedFaults;
    const restarts = endpoint.restarts() - restartsBefore;
    console.log(
      [
        `chaos seed ${SEED}, phase ${adapterNames.join(' + ')}: ${SECONDS} s, ${outcomes.length} transfers, total balance ${total} (start ${ACCOUNTS * START_BALANCE})`,
        ...adapterNames.map((a) => `  ${a.padEnd(8)} committed ${count(a, 'committed')}, told failed ${count(a, 'failed')}, unknown ${count(a, 'unknown')}`),
        `  hung (no answer after ${HUNG_MS / 1000} s): ${hung.length ? hung.join(', ') : 'none'}`,
        `  unknown outcomes: ${unknown.length} (looked up: ${unknownCommitted} had committed, ${unknown.length - unknownCommitted} had not)`,
        `  failures reaching the app (adapter:code): ${[...failureKinds].map(([k, v]) => `${k} ×${v}`).join(', ') || 'none'}`,
        `  faults: ${[...faults].map(([k, v]) => `${k} ×${v}`).join(', ')}; injected faults hit ${injected}; restarts ${restarts}`,
        `  endpoint: ${after.authenticated - before.authenticated} sessions authenticated, expired tokens presented ${expired}, closed for age ${after.closedForAge - before.closedForAge}`,
        `  end(): ${adapterNames.map((a, i) => `${a} ${ended[i]}`).join(', ')}`,
        `  secrets: ${scan.tokens.length} tokens issued, ${credentials.calls} credential calls, ${scan.texts.length} texts scanned, ${leaks.length} leaks`,
      ].join('\n'),
    );

    const context = { seed: SEED, phase: adapterNames.join('+') };
    expect({ ...context, hung }).toEqual({ ...context, hung: [] });
    expect({ ...context, total }).toEqual({ ...context, total: BigInt(ACCOUNTS * START_BALANCE) });
    expect({ ...context, mismatched }).toEqual({ ...context, mismatched: [] });
    expect({ ...context, committedMissing }).toEqual({ ...context, committedMissing: [] });
    expect({ ...context, failedPresent }).toEqual({ ...context, failedPresent: [] });
    expect({ ...context, recordedButNeverTold }).toEqual({ ...context, recordedButNeverTold: [] });
    expect({ ...context, leaks }).toEqual({ ...context, leaks: [] });
    expect({ ...context, expired }).toEqual({ ...context, expired: 0 });
    // Nothing is left checked out or waiting: every pool and sql instance ends.
    expect({ ...context, ended }).toEqual({ ...context, ended: adapterNames.map(() => 'ended') });
    // The run did what it claims: every adapter committed work, faults hit, the endpoint
    // restarted when asked to, and tokens were issued (so the scan had something to look for).
    for (const a of adapterNames) expect({ ...context, adapter: a, committed: count(a, 'committed') > 0 }).toEqual({ ...context, adapter: a, committed: true });
    // Faults on statements and COMMITs always meet traffic; connect faults only meet reconnects.
    if (kinds.some((k) => TRANSACTION_FAULTS.includes(k))) expect(injected).toBeGreaterThan(0);
    if (kinds.includes('restart')) expect(restarts).toBeGreaterThan(0);
    expect(scan.tokens.length).toBeGreaterThan(0);
    if (outcomes.some((o) => o.result !== 'committed')) expect(scan.texts.length).toBeGreaterThan(0);
  }

  it('node-postgres adapters (@dsql/pg, @dsql/drizzle): every fault, endpoint restarts included', async () => {
    await phase(['pg', 'drizzle'], FAULT_KINDS, SEED);
  });

  it('@dsql/postgres: every fault, endpoint restarts included', async () => {
    await phase(['postgres'], FAULT_KINDS, SEED + 7_919);
  });

  it('@dsql/kysely on dsql(): every fault, endpoint restarts included', async () => {
    await phase(['kysely'], FAULT_KINDS, SEED + 15_838);
  });
});
