/**
 * A side session to the upstream PostgreSQL for the proxy's own queries (the OCC arbiter's
 * `pg_blocking_pids` and lock-holder lookups): one simple query at a time, rows as text.
 */
import type net from 'node:net';
import { serialize } from 'pg-protocol';
import { errorFields } from '../wire/backend.js';
import { FrameReader } from '../wire/frames.js';
import { connectUpstream, type UpstreamTarget } from './connect.js';

/** A side query that takes longer is given up (its connection is replaced): nothing waits on it for long. */
const SIDE_QUERY_TIMEOUT_MS = 2000;

/**
 * The arbiter's own upstream session: one simple query at a time, rows as text. Hand-written on
 * the proxy's frame reader rather than with a driver: the package talks to its upstream with
 * raw frames everywhere, and three message types are all this needs.
 */
export class SideConnection {
  broken = false;
  private socket: net.Socket | undefined;
  private readonly ready: Promise<net.Socket>;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(target: UpstreamTarget) {
    this.ready = connectUpstream(target, { application_name: 'dsql-local occ arbiter' }).then((s) => {
      this.socket = s.socket;
      s.socket.on('error', () => (this.broken = true));
      s.socket.on('close', () => (this.broken = true));
      return s.socket;
    });
    this.ready.catch(() => (this.broken = true));
  }

  query(sql: string): Promise<string[][]> {
    const run = this.chain.then(() => this.run(sql));
    this.chain = run.catch(() => {});
    return run;
  }

  close(): void {
    this.broken = true;
    this.ready.then(
      (s) => {
        s.end(serialize.end());
        s.destroy();
      },
      () => {},
    );
  }

  private async run(sql: string): Promise<string[][]> {
    const socket = await this.ready;
    if (this.broken) throw new Error('side connection closed');
    return new Promise((resolve, reject) => {
      const reader = new FrameReader();
      const rows: string[][] = [];
      let error: Error | undefined;
      const done = (err?: Error): void => {
        clearTimeout(timer);
        socket.removeListener('data', onData);
        socket.removeListener('close', onClose);
        if (err) reject(err);
        else resolve(rows);
      };
      const onClose = (): void => done(new Error('side connection closed'));
      const timer = setTimeout(() => {
        this.broken = true;
        socket.destroy();
        done(new Error('side query timed out'));
      }, SIDE_QUERY_TIMEOUT_MS);
      timer.unref();
      const onData = (chunk: Buffer): void => {
        try {
          reader.feed(chunk, (type, frame) => {
            if (type === 0x44 /* D */) rows.push(dataRow(frame));
            else if (type === 0x45 /* E */) error ??= new Error(errorFields(frame).get('M') ?? 'error');
            else if (type === 0x5a /* Z */) done(error);
          });
        } catch (err) {
          this.broken = true;
          done(err as Error);
        }
      };
      socket.on('data', onData);
      socket.on('close', onClose);
      socket.resume();
      socket.write(serialize.query(sql));
    });
  }
}

/** A DataRow's columns as text ('' for NULL). */
function dataRow(frame: Buffer): string[] {
  const n = frame.readInt16BE(5);
  const out: string[] = [];
  let at = 7;
  for (let i = 0; i < n; i++) {
    const len = frame.readInt32BE(at);
    at += 4;
    if (len < 0) out.push('');
    else {
      out.push(frame.toString('utf8', at, at + len));
      at += len;
    }
  }
  return out;
}
