import { inspect } from 'node:util';
import { DsqlDialect, isDsqlError, resolveMigrationLockConfig } from '../src/index.js';
import { jobIdOf, waitForJobSql } from '@dsql/core/migrations';

function thrown(fn: () => unknown): Error & { field?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { field?: string };
  }
  throw new Error('expected a throw');
}

describe('new DsqlDialect(config)', () => {
  it('names the field, what was given and what is accepted', () => {
    const cases: [unknown, string, RegExp][] = [
      [{ pool: 42 }, 'pool', /got number; expected a DsqlPool/],
      [{ postgres: {} }, 'postgres', /got object; expected a Postgres\.js sql/],
      [{ host: 'localhost', region: 'us-east-1', waitForIndexes: 'yes' }, 'waitForIndexes', /got string; expected true or false/],
      [{ host: 'localhost', region: 'us-east-1', migrationLock: { leaseSeconds: 1 } }, 'migrationLock.leaseSeconds', /got 1; expected an integer from 3 to 86400/],
      [{ host: 'localhost', region: 'us-east-1', identityCache: 10 }, 'identityCache', /got 10/],
      [{ host: 'localhost', region: 'us-east-1', port: 0 }, 'port', /port/],
      // The DsqlPool the dialect creates speaks TCP only: a WebSocket is refused, never silently replaced by TCP.
      [{ host: 'localhost', region: 'us-east-1', transport: 'websocket' }, 'transport', /got "websocket"; expected 'tcp' with the pool DsqlDialect creates; .*\{ postgres: dsql/],
    ];
    for (const [config, field, message] of cases) {
      const err = thrown(() => new DsqlDialect(config as never));
      expect(isDsqlError(err, 'invalid-config')).toBe(true);
      expect(err.field).toBe(field);
      expect(err.message).toMatch(message);
    }
    expect(isDsqlError(thrown(() => new DsqlDialect(null as never)), 'invalid-config')).toBe(true);
  });

  it('never shows a password in errors or inspection', () => {
    const secret = 's3cr3t-Pa55word';
    const err = thrown(() => new DsqlDialect({ connectionString: `postgres://admin:${secret}@localhost:0/postgres`, region: 'us-east-1' }));
    expect(err.message).not.toContain(secret);
    expect(inspect(err)).not.toContain(secret);
    const dialect = new DsqlDialect({ host: 'localhost', region: 'us-east-1', password: secret });
    expect(inspect(dialect)).not.toContain(secret);
  });

  it('fills in the migration lock defaults', () => {
    expect(resolveMigrationLockConfig(undefined)).toEqual({ leaseSeconds: 300, acquireTimeoutMs: 900_000, pollIntervalMs: 500 });
    expect(resolveMigrationLockConfig({ leaseSeconds: 60, pollIntervalMs: 10 })).toEqual({ leaseSeconds: 60, acquireTimeoutMs: 900_000, pollIntervalMs: 10 });
  });
});

describe('index jobs', () => {
  const id = 'qfzv5uemkrg2lbczil2fim3o2q';
  it('finds the job id a CREATE INDEX ASYNC answered (pg and Postgres.js command tags)', () => {
    expect(jobIdOf({ command: 'CREATE', rows: [{ job_id: id }], rowCount: 1 })).toBe(id);
    expect(jobIdOf({ command: 'CREATE INDEX', rows: [{ job_id: id }], rowCount: 1 })).toBe(id);
    expect(jobIdOf({ command: 'ALTER TABLE', rows: [{ job_id: id }], rowCount: 1 })).toBe(id);
  });

  it('ignores reads of sys.jobs and anything not shaped like a job id', () => {
    expect(jobIdOf({ command: 'SELECT', rows: [{ job_id: id }], rowCount: 1 })).toBeUndefined();
    expect(jobIdOf({ command: 'CREATE', rows: [], rowCount: 0 })).toBeUndefined();
    expect(jobIdOf({ command: 'CREATE', rows: [{ job_id: "x'); drop table t; --" }], rowCount: 1 })).toBeUndefined();
    expect(jobIdOf({ command: undefined, rows: [{ job_id: id }], rowCount: 1 })).toBeUndefined();
  });

  it('writes the wait as a CALL with a validated literal', () => {
    expect(waitForJobSql(id)).toBe(`CALL sys.wait_for_job('${id}')`);
    expect(() => waitForJobSql("a' or '1")).toThrow(/Invalid DSQL job id/);
  });
});
