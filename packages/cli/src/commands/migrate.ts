/** `dsql migrate <folder>`: a folder of SQL migrations (or Prisma's) applied the DSQL-safe way. */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { applyMigrations, resolveMigrationRun, type MigrationEvent, type MigrationSession, type MigrationToApply } from '@dsql/core/migrations';
import { CONNECTION_FLAGS, CONNECTION_HELP } from '../connection.js';
import { openPool, sessionOf } from '../database.js';
import { UsageError, type CliIo } from '../io.js';
import { lintFile } from '../lint/analyze.js';

export const MIGRATE_HELP = `Usage: dsql migrate <folder> [options] [connection options]

Applies the migrations of a folder that are not applied yet, in name order, with the migration
toolkit of the @dsql adapters: one statement per transaction (DSQL runs one DDL per transaction),
CREATE INDEX sent as CREATE INDEX ASYNC and its job awaited, constraints added NOT VALID then
validated, one run at a time (a lease lock: DSQL has no advisory locks), progress recorded before
and after every statement so a run that died resumes where it stopped. Every file is linted first:
if DSQL would refuse a statement, nothing is applied.

The folder holds either plain .sql files whose names start with a number (0001_init.sql,
20261207_users.sql: the number is the migration's key), or Prisma's migrations folder
(<timestamp>_<name>/migration.sql). For Prisma, each applied migration is also recorded in
_prisma_migrations as prisma migrate records it, so prisma migrate status sees it applied.

Options:
  --migrations-table <name>    tracking table (default dsql_migrations; its lock: <name>_lock)
  --migrations-schema <name>   schema of the tracking tables (default public)
  --lock-lease <s>             lease of the lock, renewed while running (default 120)
  --lock-timeout <s>           how long to wait for another run's lock (default 600)
  --job-timeout <s>            how long to wait for one index/validation job (default 3600)
  -h, --help                   show this help

${CONNECTION_HELP}

Examples:
  dsql migrate migrations --host abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws
  dsql migrate prisma/migrations --host <endpoint> --user app
  PGHOST=<endpoint> dsql migrate ./sql --lock-lease 300`;

interface Loaded {
  migrations: MigrationToApply[];
  prisma: boolean;
  /** Prisma: the checksum of each migration.sql, by name. */
  checksums: Map<string, string>;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Reads and lints the folder; throws a UsageError listing every statement DSQL would refuse. */
async function loadFolder(folder: string, display: string): Promise<Loaded> {
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new UsageError(`${JSON.stringify(display)}: not a folder of migrations`);
  const entries = readdirSync(folder, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  const prismaDirs = entries.filter((e) => e.isDirectory() && existsSync(join(folder, e.name, 'migration.sql')));
  const prisma = prismaDirs.length > 0 || existsSync(join(folder, 'migration_lock.toml'));
  const files = prisma
    ? prismaDirs.map((e) => ({ tag: e.name, path: join(folder, e.name, 'migration.sql'), shown: `${display}/${e.name}/migration.sql` }))
    : entries.filter((e) => e.isFile() && e.name.endsWith('.sql')).map((e) => ({ tag: e.name.replace(/\.sql$/, ''), path: join(folder, e.name), shown: `${display}/${e.name}` }));
  if (files.length === 0) throw new UsageError(`${JSON.stringify(display)}: no migrations (expected NNNN_name.sql files, or Prisma's <timestamp>_<name>/migration.sql)`);
  const migrations: MigrationToApply[] = [];
  const checksums = new Map<string, string>();
  const keys = new Map<number, string>();
  const refusals: string[] = [];
  for (const file of files) {
    const digits = /^(\d+)/.exec(file.tag)?.[1];
    const key = digits === undefined ? Number.NaN : Number(digits);
    if (!Number.isSafeInteger(key)) throw new UsageError(`${file.shown}: the name must start with a number (its key and order), e.g. 0001_init.sql; got ${JSON.stringify(file.tag)}`);
    if (keys.has(key)) throw new UsageError(`${file.shown}: its number ${key} is also ${keys.get(key)}'s; each migration needs its own`);
    keys.set(key, file.tag);
    const text = readFileSync(file.path, 'utf8');
    const lint = await lintFile(text, prisma ? 'prisma' : 'sql');
    // Several DDL in one file is what this runner is for: each statement is a transaction of its own.
    for (const f of lint.findings.filter((x) => x.severity === 'error' && !x.rule.endsWith('-in-transaction'))) {
      refusals.push(`${file.shown}:${f.line}:${f.column}  ${f.rule}  ${f.message}\n  fix: ${f.fix}`);
    }
    checksums.set(file.tag, sha256(text));
    migrations.push({ createdAt: key, tag: file.tag, hash: sha256(text), steps: lint.steps });
  }
  if (refusals.length) {
    // Not a usage error: the check failed (exit 1).
    throw new Error(`DSQL would refuse ${refusals.length} statement(s); nothing was applied:\n${refusals.join('\n')}`);
  }
  return { migrations, prisma, checksums };
}

/** Prisma's migrations table, as its schema engine creates it on PostgreSQL. */
const PRISMA_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id" VARCHAR(36) NOT NULL,
    "checksum" VARCHAR(64) NOT NULL,
    "finished_at" TIMESTAMPTZ,
    "migration_name" VARCHAR(255) NOT NULL,
    "logs" TEXT,
    "rolled_back_at" TIMESTAMPTZ,
    "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT "_prisma_migrations_pkey" PRIMARY KEY ("id")
)`;

/** Names Prisma already applied (by `prisma migrate deploy` before): not applied again. */
async function prismaApplied(session: MigrationSession): Promise<Set<string>> {
  await session.transaction((tx) => tx.query(PRISMA_TABLE), (err) => /already exists/.test(String((err as Error)?.message)));
  const { rows } = await session.query('SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL');
  return new Set(rows.map((r) => String(r['migration_name'])));
}

const short = (sql: string): string => {
  const one = sql.replace(/\s+/g, ' ').trim();
  return one.length > 72 ? `${one.slice(0, 71)}…` : one;
};

/** Progress lines for the toolkit's events; `stop()` ends a running status ticker. */
function progress(io: CliIo): { onEvent: (e: MigrationEvent) => void; stop: () => void } {
  // On a terminal, a job's wait shows its elapsed time until the next event.
  let ticking: NodeJS.Timeout | undefined;
  const stop = (): void => {
    clearInterval(ticking);
    ticking = undefined;
  };
  const onEvent = (e: MigrationEvent): void => {
    stop();
    if (e.type === 'job' && io.status) {
      const started = Date.now();
      const show = (): void => io.status!(`  [${e.step}] waiting for job ${e.jobId} … ${Math.round((Date.now() - started) / 1000)} s`);
      show();
      ticking = setInterval(show, 1000);
      ticking.unref();
    }
    switch (e.type) {
      case 'lock-wait':
        io.out(`waiting for the migration lock (held by ${e.holder} until ${e.expiresAt})`);
        break;
      case 'lock-acquired':
        if (e.tookOverFrom) io.out(`took over the migration lock from ${e.tookOverFrom} (its lease had run out)`);
        break;
      case 'migration-start':
        io.out(`${e.tag}: ${e.steps} statement(s)${e.resumeAt > 1 ? `, resuming at ${e.resumeAt}` : ''}`);
        break;
      case 'statement':
        io.out(`  [${e.step}/${e.steps}] ${short(e.sql)}`);
        break;
      case 'statement-assumed-applied':
        io.out(`  [${e.step}] already applied by the interrupted run (${e.sqlstate})`);
        break;
      case 'job':
        io.out(`  [${e.step}] waiting for job ${e.jobId}`);
        break;
      case 'migration-done':
        io.out(`${e.tag}: done`);
        break;
    }
  };
  return { onEvent, stop };
}

function seconds(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`--${flag}: expected a number of seconds greater than 0 (got ${JSON.stringify(v)})`);
  return n;
}

export async function migrateCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      ...CONNECTION_FLAGS,
      'migrations-table': { type: 'string' },
      'migrations-schema': { type: 'string' },
      'lock-lease': { type: 'string' },
      'lock-timeout': { type: 'string' },
      'job-timeout': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help) {
    io.out(MIGRATE_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one migrations folder (got ${positionals.length} arguments)`);
  const display = positionals[0]!.replace(/\/+$/, '');
  const run = resolveMigrationRun(
    {
      ...(values['migrations-table'] !== undefined ? { migrationsTable: values['migrations-table'] } : {}),
      ...(values['migrations-schema'] !== undefined ? { migrationsSchema: values['migrations-schema'] } : {}),
      ...(values['lock-lease'] !== undefined ? { lockLeaseSeconds: seconds('lock-lease', values['lock-lease'])! } : {}),
      ...(values['lock-timeout'] !== undefined ? { lockTimeoutSeconds: seconds('lock-timeout', values['lock-timeout'])! } : {}),
      ...(values['job-timeout'] !== undefined ? { jobTimeoutSeconds: seconds('job-timeout', values['job-timeout'])! } : {}),
    },
    { caller: 'dsql migrate', migrationsSchema: 'public', migrationsTable: 'dsql_migrations' },
  );
  const loaded = await loadFolder(resolve(io.cwd, display), display);
  const shown = progress(io);
  const pool = openPool(values, io.env);
  try {
    const session = sessionOf(pool);
    let todo = loaded.migrations;
    if (loaded.prisma) {
      const applied = await prismaApplied(session);
      todo = todo.filter((m) => !applied.has(m.tag));
    }
    const startedAt = new Map<string, Date>();
    const result = await applyMigrations(session, todo, {
      ...run,
      onEvent: (e) => {
        if (e.type === 'migration-start') startedAt.set(e.tag, new Date());
        shown.onEvent(e);
      },
    });
    if (loaded.prisma) {
      // Every migration of `todo` is finished now (also one a crashed run finished before it could record it here).
      for (const tag of todo.map((m) => m.tag)) {
        await session.transaction((tx) =>
          tx.query(
            'INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count) VALUES ($1, $2, now(), $3, NULL, NULL, $4, 1)',
            [randomUUID(), loaded.checksums.get(tag)!, tag, startedAt.get(tag) ?? new Date()],
          ),
        );
      }
    }
    io.out(
      result.applied.length
        ? `applied ${result.applied.length} migration(s), ${result.statements} statement(s): ${result.applied.join(', ')}`
        : `nothing to apply: all ${loaded.migrations.length} migration(s) are applied`,
    );
    return 0;
  } finally {
    shown.stop();
    await pool.end();
  }
}
