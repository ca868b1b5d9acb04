/**
 * The page of browser.integration.test.ts, bundled by esbuild for the browser (with
 * browser-build.mjs's plugins, as the published `@dsql/postgres/browser` is) and loaded in
 * headless Chromium. `runDsqlDemo` connects to @dsql/local over `wss://` with a token signed here,
 * from credentials a provider function returns (what a Cognito identity pool's provider does),
 * runs a transaction, and shows the outcome as JSON in `#result`, where the test reads it.
 */
import { dsql, transaction } from '../../src/browser.js';

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

async function runDsqlDemo(config: DemoConfig): Promise<void> {
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

(globalThis as unknown as { runDsqlDemo: typeof runDsqlDemo }).runDsqlDemo = runDsqlDemo;
