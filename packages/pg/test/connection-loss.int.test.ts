import { errorMonitor, type EventEmitter } from 'node:events';
import { jest } from '@jest/globals';
import type { DsqlLocal } from '@dsql/local';
import { DsqlClient, DsqlPool, isDsqlError, isOccError, type DsqlConnectionLostError } from '../src/index.js';
import { isConnectionLoss, isTransientError } from '@dsql/core';
import { sleep, startLocal, terminateBackend } from './support/local.js';

// What a listener sees when the server closes a connection (the no-listener case, which must not
// end the process, runs in a child process: connection-loss-process.int.test.ts).

jest.setTimeout(30_000);

let local: DsqlLocal;
// jest's sandboxed `process` does not pass 'warning' events on; the calls are what we check.
const emitWarning = jest.spyOn(process, 'emitWarning');

beforeAll(async () => {
  local = await startLocal();
}, 60_000);

afterAll(async () => {
  emitWarning.mockRestore();
  await local?.stop();
});

/** The DSQL_CONNECTION_LOST warnings emitted so far, as `{ message, type }`. */
const lostWarnings = (): Array<{ message: unknown; type: unknown }> =>
  emitWarning.mock.calls
    .filter(([, options]) => (options as { code?: string } | undefined)?.code === 'DSQL_CONNECTION_LOST')
    .map(([message, options]) => ({ message, type: (options as { type?: string }).type }));

async function backendPid(q: { query(text: string): Promise<{ rows: Array<{ pid: number }> }> }): Promise<number> {
  return (await q.query('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
}

async function until(check: () => boolean, ms = 5_000): Promise<void> {
  for (const deadline = Date.now() + ms; !check(); ) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(20);
  }
}

describe('DsqlPool', () => {
  it("an 'error' listener gets the idle connection's loss as from pg.Pool (err, client); no warning", async () => {
    const pool = new DsqlPool({ ...local.connectionOptions(), max: 1 });
    try {
      const seen: Array<{ err: Error; client: unknown }> = [];
      pool.on('error', (err, client) => seen.push({ err, client }));
      const removed: unknown[] = [];
      pool.on('remove', (c) => removed.push(c));
      const pid = await backendPid(pool);
      await terminateBackend(local, pid);
      await until(() => removed.length === 1);
      expect(seen.length).toBe(1);
      expect(seen[0]!.err.message).toMatch(/terminating connection due to administrator command/);
      expect(seen[0]!.client).toBe(removed[0]);
      expect(pool.totalCount).toBe(0);
      expect(await backendPid(pool)).not.toBe(pid);
      expect(lostWarnings()).toEqual([]);
    } finally {
      await pool.end();
    }
  });

  it('with only an errorMonitor listener: it sees the loss, the process goes on, one warning', async () => {
    const pool = new DsqlPool({ ...local.connectionOptions(), max: 1 });
    try {
      const monitored: Error[] = [];
      (pool as EventEmitter).on(errorMonitor, (err: Error) => monitored.push(err));
      await terminateBackend(local, await backendPid(pool));
      await until(() => monitored.length > 0);
      await terminateBackend(local, await backendPid(pool));
      await until(() => monitored.length > 1);
      expect(monitored[0]!.message).toMatch(/terminating connection/);
      // Once per process (this test file's module instance), however many losses.
      expect(lostWarnings()).toHaveLength(1);
      expect(lostWarnings()[0]!.type).toBe('DsqlWarning');
      expect(lostWarnings()[0]!.message).toMatch(/^A DsqlPool connection was closed \(terminating connection due to administrator command\) and no 'error' listener was attached\. The connection has left the pool and the next query opens a new one/);
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await pool.end();
    }
  });

  it('a held client whose connection was lost: later queries reject with DsqlConnectionLostError naming the cause', async () => {
    const pool = new DsqlPool({ ...local.connectionOptions(), max: 1 });
    pool.on('error', () => undefined);
    try {
      const client = await pool.connect();
      await terminateBackend(local, await backendPid(client));
      await sleep(100);
      const err = (await client.query('SELECT 1').catch((e: unknown) => e)) as DsqlConnectionLostError;
      expect(isDsqlError(err, 'connection-lost')).toBe(true);
      expect(err.name).toBe('DsqlConnectionLostError');
      expect(err.message).toMatch(/^Connection lost: this client's connection was closed earlier \(terminating connection due to administrator command\) and is not queryable; the statement was not sent\./);
      expect(err.hint).toMatch(/Release the client/);
      expect(isConnectionLoss(err)).toBe(true);
      expect(isTransientError(err)).toBe(true);
      expect(isOccError(err)).toBe(false);
      // The callback form gets it too.
      const viaCallback = await new Promise<Error>((resolve) => client.query('SELECT 1', (e: Error) => resolve(e)));
      expect(viaCallback.name).toBe('DsqlConnectionLostError');
      client.release();
      expect((await pool.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    } finally {
      await pool.end();
    }
  });
});

describe('DsqlClient', () => {
  it("an 'error' listener gets the loss; later queries reject with DsqlConnectionLostError; end() still resolves", async () => {
    const client = new DsqlClient(local.connectionOptions());
    const seen: Error[] = [];
    client.on('error', (err) => seen.push(err));
    await client.connect();
    await terminateBackend(local, await backendPid(client));
    await until(() => seen.length > 0);
    await sleep(50);
    expect(seen[0]!.message).toMatch(/terminating connection due to administrator command/);
    const err = (await client.query('SELECT 1').catch((e: unknown) => e)) as DsqlConnectionLostError;
    expect(err.name).toBe('DsqlConnectionLostError');
    expect(err.hint).toMatch(/create a new DsqlClient/);
    await expect(client.transaction(async (tx) => tx.query('SELECT 1'))).rejects.toMatchObject({ name: 'DsqlConnectionLostError' });
    await client.end();
  });
});
