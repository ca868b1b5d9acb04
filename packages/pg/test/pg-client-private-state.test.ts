import { createRequire } from 'node:module';
import net from 'node:net';
import pg from 'pg';
import { forgetPassword, resetConnection } from '../src/pg-client-private-state.js';

// Pins the pg internals that src/pg-client-private-state.ts writes to the pg versions they were
// checked against. A pg outside the range fails here first: re-check the fields, then widen it.
const VERIFIED = { major: 8, minMinor: 11 };
const pgVersion: string = createRequire(import.meta.url)('pg/package.json').version;

/** A port on 127.0.0.1 that refuses connections (a listener opened and closed again). */
async function refusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function connect(client: pg.Client): Promise<Error | undefined> {
  return new Promise((resolve) => client.connect((err: Error | undefined) => resolve(err ?? undefined)));
}

describe(`pg ${pgVersion} private Client state`, () => {
  it('is a pg version the patches were checked against', () => {
    const [major, minor] = pgVersion.split('.').map(Number);
    expect(major).toBe(VERIFIED.major);
    expect(minor).toBeGreaterThanOrEqual(VERIFIED.minMinor);
  });

  it('has the fields resetConnection rewrites, as pg\'s constructor sets them', () => {
    const client = new pg.Client({ host: '127.0.0.1', port: 1 }) as unknown as Record<string, unknown>;
    expect(client.connection).toBeInstanceOf(pg.Connection);
    expect(client.connectionParameters).toEqual(expect.objectContaining({ ssl: false }));
    for (const flag of ['_connecting', '_connected', '_connectionError', '_ending', '_ended']) expect(client[flag]).toBe(false);
    expect(client._queryable).toBe(true);
  });

  it('refuses a second connect() after a failed one, and connects again after resetConnection', async () => {
    const port = await refusedPort();
    const client = new pg.Client({ host: '127.0.0.1', port, connectionTimeoutMillis: 2000 });
    client.on('error', () => {});
    const first = await connect(client);
    expect(first).toMatchObject({ code: 'ECONNREFUSED' });
    // Without the reset pg refuses to try again: the reason the patch exists.
    const reused = await connect(client).catch((err: unknown) => err as Error);
    expect(String(reused)).toMatch(/already been connected|cannot reuse/i);

    const attached: pg.Connection[] = [];
    resetConnection(client, {}, (con) => attached.push(con));
    expect(attached).toHaveLength(1);
    expect((client as unknown as { connection: pg.Connection }).connection).toBe(attached[0]);
    // A real second attempt is made (refused by the network again, not by pg's reuse check).
    expect(await connect(client)).toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('forgetPassword puts the password function back on the fields pg fills after authenticating', () => {
    const passwordFn = (): string => 'token';
    const client = new pg.Client({ password: passwordFn });
    const fields = client as unknown as { password: unknown; connectionParameters: { password: unknown } };
    // What pg does once the server asked for the password (see pg/lib/client.js, password callback).
    fields.password = 'the-token';
    fields.connectionParameters.password = 'the-token';
    forgetPassword(client, passwordFn);
    expect(fields.password).toBe(passwordFn);
    expect(fields.connectionParameters.password).toBe(passwordFn);
    // A fixed password the user chose is left as pg keeps it.
    fields.password = 'fixed';
    forgetPassword(client, 'fixed');
    expect(fields.password).toBe('fixed');
  });
});
