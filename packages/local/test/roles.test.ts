/**
 * Non-admin roles: with the embedded upstream a role's session is the role's own (session_user
 * and current_user), so PostgreSQL refuses a way back to the superuser; with your own server
 * the emulator leaves your roles' passwords alone and runs them with `role=<user>`.
 */
import type pg from 'pg';
import { startDsqlLocal, type DsqlLocal } from '../src/index.js';
import { connectPg, failure } from './helpers.js';

let dsql: DsqlLocal;
let admin: pg.Client;
beforeAll(async () => {
  dsql = await startDsqlLocal();
  admin = await connectPg(dsql);
  await admin.query('CREATE TABLE secrets (v text)');
  await admin.query("INSERT INTO secrets VALUES ('only for admin')");
  await admin.query('CREATE ROLE app_user WITH LOGIN');
  await admin.query('CREATE ROLE app_base');
  await admin.query('GRANT app_base TO app_user');
}, 60_000);
afterAll(async () => {
  await admin?.end().catch(() => {});
  await dsql?.stop();
});

async function asRole<T>(d: DsqlLocal, role: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = await connectPg(d, role);
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

describe('non-admin roles on the embedded upstream', () => {
  it('run as the role itself, session_user included', async () => {
    const who = await asRole(dsql, 'app_user', async (c) => (await c.query('SELECT session_user AS s, current_user AS c')).rows[0]);
    expect(who).toEqual({ s: 'app_user', c: 'app_user' });
  });

  it('cannot become the superuser with SET ROLE, SET SESSION AUTHORIZATION or set_config', async () => {
    await asRole(dsql, 'app_user', async (c) => {
      expect(await failure(() => c.query('SET ROLE admin'))).toEqual(expect.objectContaining({ code: '42501', message: 'permission denied to set role "admin"' }));
      expect(await failure(() => c.query('SET SESSION AUTHORIZATION admin'))).toEqual(
        expect.objectContaining({ code: '42501', message: 'permission denied to set session authorization "admin"' }),
      );
      expect(await failure(() => c.query("SELECT set_config('role', 'admin', false)"))).toEqual(expect.objectContaining({ code: '42501' }));
      await c.query('SET ROLE NONE');
      await c.query('RESET SESSION AUTHORIZATION');
      expect((await c.query('SELECT current_user AS u, usesuper FROM pg_user WHERE usename = current_user')).rows).toEqual([{ u: 'app_user', usesuper: false }]);
      expect(await failure(() => c.query('SELECT v FROM secrets'))).toEqual(expect.objectContaining({ code: '42501', message: 'permission denied for table secrets' }));
    });
  });

  it('may still SET ROLE to a role it is a member of', async () => {
    const who = await asRole(dsql, 'app_user', async (c) => {
      await c.query('SET ROLE app_base');
      return (await c.query('SELECT current_user AS u')).rows[0].u;
    });
    expect(who).toBe('app_base');
  });

  it('refuses a role that does not exist, or may not log in', async () => {
    expect(await failure(() => connectPg(dsql, 'nobody_here'))).toEqual(expect.objectContaining({ code: '28000', message: 'role "nobody_here" does not exist' }));
    expect(await failure(() => connectPg(dsql, 'app_base'))).toEqual(expect.objectContaining({ code: '28000', message: 'role "app_base" is not permitted to log in' }));
  });

  it('logs a role in again after it was dropped and created anew, and many at once', async () => {
    await admin.query('CREATE ROLE app_again WITH LOGIN');
    const first = await Promise.all(Array.from({ length: 6 }, () => asRole(dsql, 'app_again', async (c) => (await c.query('SELECT session_user AS s')).rows[0].s)));
    expect(first).toEqual(Array(6).fill('app_again'));
    // Created anew: the password the emulator set went with the old role.
    await admin.query('DROP ROLE app_again');
    await admin.query('CREATE ROLE app_again WITH LOGIN');
    expect(await asRole(dsql, 'app_again', async (c) => (await c.query('SELECT session_user AS s')).rows[0].s)).toBe('app_again');
    await admin.query('DROP ROLE app_again');
    expect(await failure(() => connectPg(dsql, 'app_again'))).toEqual(expect.objectContaining({ code: '28000', message: 'role "app_again" does not exist' }));
  });
});

describe('non-admin roles on your own server (upstream URL)', () => {
  it('run with role=<user> under the superuser, and keep their password', async () => {
    const own = await startDsqlLocal({ upstream: dsql.upstreamUrl, credentials: dsql.credentials });
    try {
      await admin.query('CREATE ROLE app_own WITH LOGIN');
      const who = await asRole(own, 'app_own', async (c) => (await c.query('SELECT session_user AS s, current_user AS c')).rows[0]);
      expect(who).toEqual({ s: 'admin', c: 'app_own' });
      expect((await admin.query("SELECT rolpassword IS NULL AS none FROM pg_authid WHERE rolname = 'app_own'")).rows).toEqual([{ none: true }]);
    } finally {
      await own.stop();
    }
  });
});
