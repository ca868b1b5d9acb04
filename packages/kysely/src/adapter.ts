import { DialectAdapterBase, type Kysely, type MigrationLockOptions } from 'kysely';
import type { NestedTransactionGuard, RetryOptions } from '@dsql/core';
import type { DetachedQuery, RowLease } from '@dsql/core/migrations';
import { migrationLease, runnerOf, type ResolvedMigrationLockConfig } from './migration-lock.js';

/**
 * Kysely `DialectAdapter` for Aurora DSQL.
 *
 * - `supportsTransactionalDdl` is `false`: DSQL allows one DDL statement per transaction and no
 *   DDL with DML, so Kysely's `Migrator` runs each migration's statements one by one (each its
 *   own transaction) on one connection instead of wrapping every migration in one transaction.
 * - The migration lock is not PostgreSQL's advisory lock (DSQL has none) but a lease on the
 *   Migrator's own lock row, taken with an OCC-safe conditional UPDATE, retried on conflict,
 *   renewed while migrations run (through `detached`, a runner on a connection of its own; without
 *   one the lease is not renewed), and taken over once a dead holder's lease has run out.
 *
 * @example
 * const adapter = new DsqlAdapter({ leaseSeconds: 300, acquireTimeoutMs: 900_000, pollIntervalMs: 500 });
 * adapter.supportsTransactionalDdl // false
 */
export class DsqlAdapter extends DialectAdapterBase {
  readonly #lock: ResolvedMigrationLockConfig;
  readonly #detached: DetachedQuery | undefined;
  /** The lease of each Migrator run, keyed by the connection-bound `db` Kysely hands to acquire and release. */
  readonly #leases = new WeakMap<object, RowLease>();
  /** Default retry of `transaction()` from `@dsql/kysely` for databases using this dialect. */
  readonly retry: RetryOptions | boolean;
  /** Nested-transaction check of `transaction()` from `@dsql/kysely` (none: not checked). */
  readonly nest: NestedTransactionGuard | undefined;
  /** The pool or `sql` under the dialect, once known: `transaction()` counts in its stats. */
  readonly owner: () => object | undefined;

  constructor(
    lock: ResolvedMigrationLockConfig,
    options: { detached?: DetachedQuery; retry?: RetryOptions | boolean; nest?: NestedTransactionGuard; owner?: () => object | undefined } = {},
  ) {
    super();
    this.#lock = lock;
    this.#detached = options.detached;
    this.retry = options.retry ?? true;
    this.nest = options.nest;
    this.owner = options.owner ?? (() => undefined);
  }

  override get supportsTransactionalDdl(): boolean {
    return false;
  }

  override get supportsReturning(): boolean {
    return true;
  }

  override async acquireMigrationLock(db: Kysely<unknown>, options: MigrationLockOptions): Promise<void> {
    const lease = migrationLease(options, this.#lock, this.#detached);
    await lease.acquire(runnerOf(db));
    this.#leases.set(db, lease);
  }

  override async releaseMigrationLock(db: Kysely<unknown>, _options: MigrationLockOptions): Promise<void> {
    const lease = this.#leases.get(db);
    if (!lease) return; // acquiring failed: nothing to release
    this.#leases.delete(db);
    await lease.release(runnerOf(db));
  }
}
