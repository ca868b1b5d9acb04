/**
 * What the page of browser.integration.test.ts does, given `@dsql/postgres/browser`'s `dsql` and
 * `transaction` (from source: page.ts; from the built package: the entry the test writes next to
 * it): `runDsqlDemo` connects to @dsql/local over `wss://` with a token signed in the page, from
 * credentials a provider function returns (what a Cognito identity pool's provider does), runs a
 * transaction, and shows the outcome as JSON in `#result`, where the test reads it; `runOccDemo`
 * shows a transaction retried after an OCC conflict.
 */
import type * as browserEntry from '../../src/browser.js';

/** The entry's functions the demos use. */
export type BrowserEntry = Pick<typeof browserEntry, 'dsql' | 'transaction'>;

/** What the test hands the page: where to connect and the identity @dsql/local accepts. */
export interface DemoConfig {
  host: string;
  region: string;
  webSocketUrl: string;
  accessKeyId: string;
  secretAccessKey: string;
  table: string;
  note: string;
}

/** What `#result` shows. */
export type DemoResult =
  | { ok: true; rows: number; note: string; who: string; credentialCalls: number }
  | { ok: false; error: string; code: string | undefined };

/** The page's document, as far as the demo uses it (the package's TypeScript project has no DOM lib). */
const page = globalThis as unknown as { document: { getElementById(id: string): { textContent: string | null } | null } };

async function runDsqlDemo({ dsql, transaction }: BrowserEntry, config: DemoConfig): Promise<void> {
  const out = page.document.getElementById('result')!;
  out.textContent = '';
  let signings = 0; // calls of the credential provider
  // A provider of short-lived credentials, as an application gets them from its identity service.
  const credentials = async () => {
    signings++;
    return { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey, expiration: new Date(Date.now() + 15 * 60_000) };
  };
  const sql = dsql({ host: config.host, region: config.region, webSocketUrl: config.webSocketUrl, credentials, max: 1, connect_timeout: 20 });
  let result: DemoResult;
  try {
    await sql`create table if not exists ${sql(config.table)} (id int primary key, note text not null)`;
    const row = await transaction(sql, async (tx) => {
      const [first] = await tx<{ next: number }[]>`select coalesce(max(id), 0) + 1 as next from ${tx(config.table)}`;
      await tx`insert into ${tx(config.table)} (id, note) values (${first!.next}, ${config.note})`;
      const [r] = await tx<{ rows: number; note: string; who: string }[]>`
        select count(*)::int as rows, max(note) as note, current_user as who from ${tx(config.table)}`;
      return r!;
    });
    result = { ok: true, rows: row.rows, note: row.note, who: row.who, credentialCalls: signings };
  } catch (err) {
    const e = err as { message?: string; code?: string };
    result = { ok: false, error: String(e.message ?? err), code: e.code };
  } finally {
    await sql.end({ timeout: 5 });
  }
  out.textContent = JSON.stringify(result);
}

/** What `#result` shows after {@link runOccDemo}. */
export type OccResult = { ok: true; seen: number[]; n: number } | { ok: false; error: string; code: string | undefined };

/**
 * A transaction that meets an OCC conflict (another connection commits a change to the row it
 * read, between its read and its commit) and is retried by `transaction()` in the page.
 */
async function runOccDemo({ dsql, transaction }: BrowserEntry, config: DemoConfig): Promise<void> {
  const out = page.document.getElementById('result')!;
  out.textContent = '';
  const credentials = { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey };
  const options = { host: config.host, region: config.region, webSocketUrl: config.webSocketUrl, credentials, max: 1, connect_timeout: 20 };
  const sql = dsql(options);
  const other = dsql(options);
  let result: OccResult;
  try {
    await sql`create table if not exists ${sql(config.table)} (id int primary key, n int not null)`;
    await sql`delete from ${sql(config.table)}`;
    await sql`insert into ${sql(config.table)} (id, n) values (1, 0)`;
    const seen: number[] = [];
    await transaction(sql, async (tx) => {
      const [row] = await tx<{ n: number }[]>`select n from ${tx(config.table)} where id = 1`;
      seen.push(row!.n);
      if (seen.length === 1) await other.begin((o) => o`update ${o(config.table)} set n = n + 10 where id = 1`);
      await tx`update ${tx(config.table)} set n = ${row!.n + 1} where id = 1`;
    });
    const [final] = await sql<{ n: number }[]>`select n from ${sql(config.table)} where id = 1`;
    result = { ok: true, seen, n: final!.n };
  } catch (err) {
    const e = err as { message?: string; code?: string };
    result = { ok: false, error: String(e.message ?? err), code: e.code };
  } finally {
    await Promise.all([sql.end({ timeout: 5 }), other.end({ timeout: 5 })]);
  }
  out.textContent = JSON.stringify(result);
}

/** Puts the demos on the page's global object, where the test calls them. */
export function installDemos(entry: BrowserEntry): void {
  Object.assign(globalThis, {
    runDsqlDemo: (config: DemoConfig) => runDsqlDemo(entry, config),
    runOccDemo: (config: DemoConfig) => runOccDemo(entry, config),
  });
}
