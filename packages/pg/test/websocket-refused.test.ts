import { DSQL_SESSION, DsqlConfigError, createDsqlSession } from '@dsql/core';
import { DsqlClient, DsqlPool } from '@dsql/pg';

const HOST = 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws';
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret-not-shown' };

describe("transport: 'websocket' with @dsql/pg", () => {
  it.each([
    ['DsqlPool', () => new DsqlPool({ host: HOST, credentials, transport: 'websocket' })],
    ['DsqlClient', () => new DsqlClient({ host: HOST, credentials, transport: 'websocket' })],
    // A session resolved elsewhere and carried in (as @dsql/kysely's dialect hands one on) is checked too.
    ['DsqlPool with a carried session', () => {
      const options = { host: HOST, credentials, transport: 'websocket' as const };
      return new DsqlPool({ ...options, [DSQL_SESSION]: createDsqlSession(options) } as never);
    }],
  ])('%s refuses it, pointing at @dsql/postgres (never silently over TCP)', (_name, make) => {
    let err: unknown;
    try {
      make();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DsqlConfigError);
    expect((err as DsqlConfigError).field).toBe('transport');
    expect((err as Error).message).toContain('use @dsql/postgres');
  });

  it("accepts transport: 'tcp'", async () => {
    const pool = new DsqlPool({ host: HOST, credentials, transport: 'tcp' });
    await pool.end();
  });
});
