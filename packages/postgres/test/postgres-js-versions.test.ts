import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import type { DsqlLocal } from '@dsql/local';
import { dsql } from '@dsql/postgres';
import { isPostgresJs3 } from '../src/postgres-js-3-closed-connection-patch.js';
import { withLocal } from './support/local.js';

// Pins postgres-js-3-closed-connection-patch.ts to the versions it is written for. jest.config.cjs
// runs this against the devDependency `postgres` (4.x), jest.postgres-v3.config.cjs against 3.4.x.
// On 3.4 the Query fields the patch reads and wraps must be there, with the meaning it gives them;
// on 4 the patch must be off (Postgres.js's own reserve() and transactions are used as they are).

declare const POSTGRES_JS_VERSION: string;
declare const POSTGRES_JS_ENTRY: string;

let local: DsqlLocal;

withLocal((started) => (local = started));

describe(`Postgres.js ${POSTGRES_JS_VERSION}`, () => {
  it('is a version of the peer range, and the patch is on for 3.4 only', async () => {
    expect(POSTGRES_JS_VERSION).toMatch(/^(3\.4|4)\.\d+/);
    const sql = postgres({ max: 1 });
    try {
      expect(isPostgresJs3(sql)).toBe(POSTGRES_JS_VERSION.startsWith('3.'));
    } finally {
      await sql.end({ timeout: 0 });
    }
  });

  it('3.4: a statement has the handler, reject and state (BackendKeyData) the patch uses; 4: dsql() leaves reserve() as it is', async () => {
    const sql = dsql({ ...local.connectionOptions(), max: 1 });
    try {
      if (POSTGRES_JS_VERSION.startsWith('3.')) {
        const query = sql`select pg_backend_pid() as pid` as unknown as Promise<Array<{ pid: number }>> & {
          handler: unknown;
          reject: unknown;
          state: { pid: number; secret: number } | null;
        };
        expect(typeof query.handler).toBe('function');
        expect(typeof query.reject).toBe('function');
        const [row] = await query;
        // The session the statement ran on: the pid the server reports for itself.
        expect(query.state).toEqual({ pid: row!.pid, secret: expect.any(Number) });
      } else {
        // Postgres.js 4.2's reserve() returns a cancellable promise; the 3.4 patch's wrapper does not.
        const pending = sql.reserve() as Promise<postgres.ReservedSql> & { cancel?: unknown };
        expect(typeof pending.cancel).toBe('function');
        (await pending).release();
      }
    } finally {
      await sql.end({ timeout: 1 });
    }
  }, 20_000);

  it('the CommonJS build gets the postgres() function (4 is an ES module: require() returns its namespace)', () => {
    // Built the way tsup builds dist/index.cjs (esbuild, CommonJS, `postgres` left to require()),
    // and run by Node next to this Postgres.js.
    const here = dirname(fileURLToPath(import.meta.url));
    const esbuild = join(dirname(createRequire(import.meta.url).resolve('esbuild/package.json')), 'bin', 'esbuild');
    const dir = mkdtempSync(join(tmpdir(), 'dsql-postgres-cjs-'));
    try {
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(join(dirname(POSTGRES_JS_ENTRY), '..'), join(dir, 'node_modules', 'postgres'), 'dir');
      execFileSync(esbuild, [
        join(here, '..', 'src', 'index.ts'), '--bundle', '--platform=node', '--format=cjs', '--log-level=error',
        '--external:postgres', `--alias:@dsql/core=${join(here, '..', '..', 'core', 'src', 'index.ts')}`,
        `--outfile=${join(dir, 'dsql-postgres.cjs')}`,
      ]);
      writeFileSync(
        join(dir, 'app.cjs'),
        `const { dsql } = require('./dsql-postgres.cjs');
         const sql = dsql({ host: 'localhost', region: 'us-east-1' });
         console.log(JSON.stringify({ begin: typeof sql.begin, version4: 'stats' in sql }));
         sql.end();`,
      );
      const out = execFileSync(process.execPath, [join(dir, 'app.cjs')], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
      expect(JSON.parse(out)).toEqual({ begin: 'function', version4: POSTGRES_JS_VERSION.startsWith('4.') });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
