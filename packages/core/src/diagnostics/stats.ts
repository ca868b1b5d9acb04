/**
 * One `stats()` shape for every adapter ({@link DsqlStats}), counted once, here. A session's
 * {@link DsqlStatsRecorder} is called at the same points that publish the diagnostics messages
 * (connect-probe.ts, transaction-events.ts, the failover router), with the same outcome and
 * reason values, so a pool's `stats()` and the metrics `@dsql/opentelemetry` derives from those
 * messages cannot disagree. The numbers of the pool itself (idle, used, pending connections) come
 * from the adapter, which knows its driver's public counters: it registers its pool or `sql` with
 * {@link registerDsqlPool}, and both `stats()` and the `db.client.connection.count` metric read
 * them through the same function.
 *
 * Counting costs a few integer increments per connection attempt and per transaction attempt,
 * subscribers or not.
 */
import type { DsqlConnectOutcome, DsqlConnectionCloseReason, DsqlTransactionOutcome } from './channels.js';

/**
 * A pool's connections right now, from the driver's public counters; `null` where the driver
 * does not expose the number (Postgres.js: `pending`).
 *
 * @example
 * const { idle, used, pending }: DsqlConnectionCounts = pool.stats().connections;
 */
export interface DsqlConnectionCounts {
  /** Open connections (`idle + used`). */
  readonly open: number | null;
  /** Open connections not in use. */
  readonly idle: number | null;
  /** Open connections in use (checked out, or running a statement). */
  readonly used: number | null;
  /** Requests waiting for a connection. */
  readonly pending: number | null;
}

/**
 * The counters of one pool (`DsqlPool`, a `dsql()` `sql`, a Kysely dialect or Drizzle database on
 * one of them), the same in every adapter. Counters start at 0 when the pool is created; the
 * `tokens` counters are those of the process-wide token providers the pool's endpoints use (shared
 * with other pools of the same endpoint, role and credential source).
 *
 * @example
 * const s: DsqlStats = pool.stats();
 * console.log(s.connections.idle, s.connectAttempts.refused, s.transactions.occConflicts);
 */
export interface DsqlStats {
  readonly connections: DsqlConnectionCounts;
  /** Connection attempts by outcome (the metric `dsql.client.connect.attempts`). */
  readonly connectAttempts: Readonly<Record<DsqlConnectOutcome, number>>;
  /** Connection attempts held by the connection rate limiter (`dsql.client.connect.rate_limit_wait`'s count). */
  readonly rateLimitWaits: number;
  /** Connections closed, by reason (`dsql.client.connection.closed`). */
  readonly connectionsClosed: Readonly<Record<DsqlConnectionCloseReason, number>>;
  readonly tokens: {
    /** Tokens signed (`dsql.client.token.signings`, outcome `ok`). */
    readonly signed: number;
    /** Tokens served past their refresh point while the credential source failed (`dsql.client.token.stale_served`). */
    readonly staleServed: number;
    /** Calls to the credential source (`dsql.client.credentials.resolutions`). */
    readonly credentialResolutions: number;
  };
  readonly transactions: {
    /** `transaction()` calls ended. */
    readonly calls: number;
    /** Attempts by outcome (`dsql.client.transaction.attempts`). */
    readonly attempts: Readonly<Record<DsqlTransactionOutcome, number>>;
    /** Attempts after the first of their call (the callback ran again). */
    readonly retries: number;
    /** Attempts that ended in an OCC conflict (`dsql.client.occ.conflicts`). */
    readonly occConflicts: number;
    /** Calls whose COMMIT outcome is unknown (`dsql.client.commit.unknown`). */
    readonly commitUnknown: number;
  };
  /** Regional failover (`dsql.client.failovers` by direction, `dsql.client.endpoint.unhealthy`). */
  readonly failovers: {
    readonly failover: number;
    readonly failback: number;
    readonly endpointsUnhealthy: number;
  };
}

const connectOutcomes = (): Record<DsqlConnectOutcome, number> => ({ ok: 0, refused: 0, rate_limited: 0, timeout: 0, error: 0 });
const closeReasons = (): Record<DsqlConnectionCloseReason, number> => ({ lifetime: 0, idle: 0, server_closed: 0, error: 0, client: 0 });
const transactionOutcomes = (): Record<DsqlTransactionOutcome, number> => ({ committed: 0, occ_conflict: 0, transient: 0, commit_unknown: 0, error: 0 });

/** What a recorder reads the token counters from (a session's endpoints' token providers). */
interface TokenStatsSource {
  stats(): { signings: number; staleServed: number; credentialResolutions: number };
}

/**
 * The counters of one session, fed by core's own code paths (the connect probe, the transaction
 * runner, the failover router) where they publish their diagnostics messages. Adapters do not
 * call it: they pass it on (`session.stats` to `runTransaction`) and read it with `dsqlStats()`.
 *
 * @example
 * const snapshot = session.stats.snapshot(connectionCounts);
 */
export class DsqlStatsRecorder {
  readonly #connectAttempts = connectOutcomes();
  #rateLimitWaits = 0;
  readonly #closed = closeReasons();
  readonly #attempts = transactionOutcomes();
  #calls = 0;
  #retries = 0;
  #failover = 0;
  #failback = 0;
  #unhealthy = 0;
  #tokens: readonly TokenStatsSource[] = [];
  /**
   * The endpoint every connection of the session goes to, when it has exactly one: transaction
   * messages name it (with several endpoints a transaction's endpoint is not known to core).
   */
  endpoint: { readonly endpoint: string; readonly region: string } | undefined;

  /** The token providers whose counters `snapshot()` reports (set once by the session). @internal */
  useTokenProviders(providers: readonly TokenStatsSource[]): void {
    this.#tokens = [...new Set(providers)];
  }

  /** @internal */
  connectEnded(outcome: DsqlConnectOutcome): void {
    this.#connectAttempts[outcome]++;
  }

  /** @internal */
  rateLimitWaited(): void {
    this.#rateLimitWaits++;
  }

  /** @internal */
  connectionClosed(reason: DsqlConnectionCloseReason): void {
    this.#closed[reason]++;
  }

  /** @internal */
  transactionAttempt(attempt: number, outcome: DsqlTransactionOutcome): void {
    this.#attempts[outcome]++;
    if (attempt > 1) this.#retries++;
  }

  /** @internal */
  transactionEnded(): void {
    this.#calls++;
  }

  /** @internal */
  endpointSwitched(direction: 'failover' | 'failback'): void {
    if (direction === 'failover') this.#failover++;
    else this.#failback++;
  }

  /** @internal */
  endpointUnhealthy(): void {
    this.#unhealthy++;
  }

  /**
   * The counters now, with the pool's `connections` as its adapter reads them.
   *
   * @example
   * session.stats.snapshot({ open: 2, idle: 1, used: 1, pending: 0 }).connectAttempts.ok
   */
  snapshot(connections: DsqlConnectionCounts = UNKNOWN_CONNECTIONS): DsqlStats {
    let signed = 0;
    let staleServed = 0;
    let credentialResolutions = 0;
    for (const provider of this.#tokens) {
      const s = provider.stats();
      signed += s.signings;
      staleServed += s.staleServed;
      // The endpoints of one session share one credential source: its count, not the sum.
      credentialResolutions = Math.max(credentialResolutions, s.credentialResolutions);
    }
    return {
      connections: { ...connections },
      connectAttempts: { ...this.#connectAttempts },
      rateLimitWaits: this.#rateLimitWaits,
      connectionsClosed: { ...this.#closed },
      tokens: { signed, staleServed, credentialResolutions },
      transactions: {
        calls: this.#calls,
        attempts: { ...this.#attempts },
        retries: this.#retries,
        occConflicts: this.#attempts.occ_conflict,
        commitUnknown: this.#attempts.commit_unknown,
      },
      failovers: { failover: this.#failover, failback: this.#failback, endpointsUnhealthy: this.#unhealthy },
    };
  }
}

/**
 * Connection counts of a pool whose driver exposes none (every number `null`).
 *
 * @example
 * registerDsqlPool(pool, session, () => UNKNOWN_CONNECTIONS);
 */
export const UNKNOWN_CONNECTIONS: DsqlConnectionCounts = Object.freeze({ open: null, idle: null, used: null, pending: null });
