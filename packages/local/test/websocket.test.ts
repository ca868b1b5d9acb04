/**
 * PostgreSQL over WebSocket (`webSocket: true`): a real node-postgres client whose stream is a
 * `ws` WebSocket goes through the same stages as over TCP — the named cluster, the token, rules,
 * faults, limits — and `stop()` ends it.
 */
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { Duplex } from 'node:stream';
import pg from 'pg';
import { createWebSocketStream, WebSocket } from 'ws';
import { runCli } from '../src/cli-run.js';
import { startDsqlLocal, type DsqlLocal } from '../src/index.js';
import { token } from './helpers.js';

let dsql: DsqlLocal;
beforeAll(async () => {
  dsql = await startDsqlLocal({ webSocket: true, maxTransactionAgeSeconds: 300 });
}, 60_000);
afterAll(async () => {
  await dsql?.stop();
});

/** Dials 127.0.0.1 for any name: the URL (and so SNI and Host) keep the cluster's name. */
const toLocal: LookupFunction = (_host, opts, cb) => {
  if (opts.all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
  else cb(null, '127.0.0.1', 4);
};

/**
 * A Duplex over a WebSocket to the endpoint that node-postgres can drive (`stream` option): it
 * "connects" when the WebSocket opens.
 */
function webSocketStream(url: string, tlsOptions: { servername?: string; checkServerIdentity?: () => undefined } = {}): Duplex {
  let ws: WebSocket | undefined;
  let inner: Duplex | undefined;
  const outer = new Duplex({
    // pg waits for 'close': the write side ends with the read side.
    allowHalfOpen: false,
    read() {
      inner?.resume();
    },
    write(chunk, _enc, cb) {
      inner!.write(chunk, cb);
    },
    final(cb) {
      inner?.end();
      cb();
    },
    destroy(err, cb) {
      inner?.destroy();
      cb(err);
    },
  });
  Object.assign(outer, {
    connect() {
      ws = new WebSocket(url, { ca: dsql.ca, lookup: toLocal, ...tlsOptions });
      inner = createWebSocketStream(ws);
      inner.on('data', (c: Buffer) => {
        if (!outer.push(c)) inner!.pause();
      });
      inner.on('end', () => outer.push(null));
      inner.on('error', (e) => outer.destroy(e));
      inner.on('close', () => outer.destroy());
      ws.once('open', () => outer.emit('connect'));
      return outer;
    },
    setNoDelay() {},
    setKeepAlive() {},
    ref() {},
    unref() {},
  });
  return outer;
}

async function connect(password?: string, tlsOptions: Parameters<typeof webSocketStream>[1] = {}, url = dsql.webSocketUrl!): Promise<pg.Client> {
  const client = new pg.Client({
    user: 'admin',
    database: 'postgres',
    password: password ?? (await token(dsql)),
    ssl: false,
    connectionTimeoutMillis: 10_000,
    stream: () => webSocketStream(url, tlsOptions) as never,
  });
  client.on('error', () => {});
  await client.connect();
  return client;
}

async function refusal(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a refusal, got a connection');
}

describe('PostgreSQL over WebSocket', () => {
  it('serves queries and transactions, counted as WebSocket connections', async () => {
    expect(dsql.webSocketUrl).toMatch(new RegExp(`^wss://${dsql.host.replace(/\./g, '\\.')}:\\d+$`));
    const before = dsql.stats();
    const client = await connect();
    try {
      expect((await client.query('SELECT 1 + 1 AS two')).rows).toEqual([{ two: 2 }]);
      await client.query('CREATE TABLE IF NOT EXISTS ws_items (id int PRIMARY KEY, name text)');
      await client.query('BEGIN');
      await client.query('INSERT INTO ws_items VALUES ($1, $2)', [1, 'over websocket']);
      await client.query('COMMIT');
      expect((await client.query('SELECT name FROM ws_items WHERE id = 1')).rows).toEqual([{ name: 'over websocket' }]);
      // DSQL's rules apply as over TCP.
      const refused = await refusal(client.query('CREATE TEMPORARY TABLE ws_tmp (a int)'));
      expect(refused.code).toBe('0A000');
      const after = dsql.stats();
      expect(after.webSocketConnections - before.webSocketConnections).toBe(1);
      expect(after.authenticated - before.authenticated).toBe(1);
      expect(after.openConnections).toBe(before.openConnections + 1);
    } finally {
      await client.end();
    }
  }, 60_000);

  it('refuses a forged token (access denied, counted by reason)', async () => {
    const before = dsql.stats().authFailures['signature-mismatch'] ?? 0;
    const err = await refusal(connect(await token(dsql, { secret: 'not-the-secret' })));
    expect(err.message).toBe('unable to accept connection, access denied');
    expect(err.code).toBe('08006');
    expect(dsql.stats().authFailures['signature-mismatch'] ?? 0).toBe(before + 1);
  }, 30_000);

  it('checks the requested name as SNI: another cluster is refused', async () => {
    const other = 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws';
    const before = dsql.stats().authFailures['wrong-host'] ?? 0;
    const err = await refusal(
      connect(await token(dsql, { hostname: other }), { checkServerIdentity: () => undefined }, dsql.webSocketUrl!.replace(dsql.host, other)),
    );
    expect(err.message).toBe('unable to accept connection, access denied');
    expect(dsql.stats().authFailures['wrong-host'] ?? 0).toBe(before + 1);
  }, 30_000);

  it('applies connect and query faults', async () => {
    dsql.inject({ on: 'connect', error: { code: '53400', message: 'Unable to accept connection, rate exceeded.' } });
    const err = await refusal(connect());
    expect(err.code).toBe('53400');
    const client = await connect();
    try {
      dsql.inject({ on: 'query', match: 'ws_fault', error: { code: '40001', message: 'change conflicts with another transaction (OC000)' } });
      const failed = await refusal(client.query('SELECT 1 AS ws_fault'));
      expect(failed.code).toBe('40001');
      expect((await client.query('SELECT 2 AS n')).rows).toEqual([{ n: 2 }]);
    } finally {
      await client.end();
    }
  }, 30_000);

  it('answers a request that is not a WebSocket upgrade with 426', async () => {
    const url = new URL(dsql.webSocketUrl!);
    const status = await new Promise<number>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port: url.port, servername: dsql.host, ca: dsql.ca, path: '/' }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject);
    });
    expect(status).toBe(426);
  }, 30_000);

  it('rejects a bad webSocket option, naming it', async () => {
    await expect(startDsqlLocal({ webSocket: 'yes' as never })).rejects.toThrow(/'webSocket' must be true, false or \{ port \} \(got "yes"\)/);
  });
});

describe('stop() with WebSocket sessions open', () => {
  it('ends them and stops', async () => {
    const local = await startDsqlLocal({ webSocket: true });
    const d = dsql;
    dsql = local;
    try {
      const client = await connect();
      const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
      await local.stop();
      await ended;
      await expect(client.query('SELECT 1')).rejects.toThrow();
    } finally {
      dsql = d;
      await local.stop();
    }
  }, 60_000);
});

describe('dsql-local --websocket', () => {
  it('serves WebSocket too and prints its URL', async () => {
    let out = '';
    const run = await runCli(['--websocket'], (t) => (out += t));
    const d = dsql;
    try {
      dsql = run!.dsql;
      expect(out).toContain(`websocket ${dsql.webSocketUrl} (dial 127.0.0.1)`);
      const client = await connect();
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      await client.end();
      expect(dsql.stats().webSocketConnections).toBe(1);
    } finally {
      dsql = d;
      await run?.stop();
    }
  }, 60_000);
});
