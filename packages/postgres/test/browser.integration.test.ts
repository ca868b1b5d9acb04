/**
 * `@dsql/postgres/browser` in a real browser: a page bundled with esbuild for the browser runs in
 * headless Chromium, signs a token in the page, connects to @dsql/local over `wss://`, runs a
 * transaction and shows the result, which the test reads from the page; a conflicting
 * transaction is retried in the page; a forged identity is refused. Twice: with the entry from
 * source (the same plugins as the published build), and with the built packages, imported as
 * `@dsql/postgres/browser` through their package.json `exports` and bundled by plain esbuild with
 * no plugin, as a user's bundler does. (That the source bundle holds no Node built-in:
 * browser-bundle.test.ts.)
 *
 * Chromium is Debian's `chromium` package (CI installs it: .ci/run), driven by playwright-core
 * (no browser download). Where it is not installed (or does not run) the suite is skipped with the
 * reason printed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { createHash, X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startDsqlLocal, type DsqlLocal } from '@dsql/local';
import { dsql } from '@dsql/postgres';
import { bundleBuiltPackagePage, bundleForBrowser, nodeLeftovers, type PageBundle } from './support/browser-page.js';
import type { DemoConfig, DemoResult, OccResult } from './browser/demos.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Why Chromium cannot be used here, or undefined when it can: not installed, or installed but
 * not running (an install cut short, say) — then it cannot be launched either.
 */
function chromiumMissing(): string | undefined {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (install Debian's chromium package, or set CHROMIUM_PATH)`;
  const version = spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (version.status === 0) return undefined;
  const why = version.error?.message ?? (version.signal ? `killed by ${version.signal}` : `exit ${version.status}`);
  return `${CHROMIUM} --version failed (${why}): ${`${version.stdout}${version.stderr}`.trim().slice(-500)}`;
}
const missing = chromiumMissing();
const haveChromium = missing === undefined;
if (!haveChromium) console.warn(`browser.integration.test.ts skipped: ${missing}`);

/**
 * Base64 SHA-256 of the public key (SPKI) of the certificate @dsql/local's WebSocket endpoint
 * presents: Chromium's `--ignore-certificate-errors-spki-list` trusts exactly that key, so the
 * page talks to local's self-signed CA without turning certificate checks off for anything else
 * (a browser takes no per-connection CA the way Node's `ca` option does).
 */
function endpointSpkiHash(local: DsqlLocal): Promise<string> {
  const port = Number(new URL(local.webSocketUrl!).port);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: local.hostaddr, port, servername: local.host, ca: local.ca, ALPNProtocols: ['http/1.1'] }, () => {
      const cert = new X509Certificate(socket.getPeerCertificate().raw);
      socket.destroy();
      resolve(createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64'));
    });
    socket.setTimeout(20_000, () => socket.destroy(new Error('no TLS handshake from @dsql/local within 20 s')));
    socket.once('error', reject);
  });
}

/** How a page gets `@dsql/postgres/browser`, and the suffix of the tables its demos use. */
const ENTRIES = [
  { entry: 'from source', tables: 'source', bundle: bundleForBrowser },
  { entry: 'from the built package, bundled by plain esbuild', tables: 'built', bundle: bundleBuiltPackagePage },
] as const satisfies readonly { entry: string; tables: string; bundle: () => Promise<PageBundle> }[];
type Entry = (typeof ENTRIES)[number]['entry'];

(haveChromium ? describe : describe.skip)('@dsql/postgres/browser in headless Chromium', () => {
  let local: DsqlLocal | undefined;
  let browser: Browser | undefined;
  const pages = new Map<Entry, Page>();
  let builtBundle: PageBundle | undefined;

  beforeAll(async () => {
    local = await startDsqlLocal({ webSocket: true });
    const [bundles, spki] = await Promise.all([
      Promise.all(ENTRIES.map(({ bundle }) => bundle())),
      endpointSpkiHash(local),
    ]);
    builtBundle = bundles[ENTRIES.findIndex(({ bundle }) => bundle === bundleBuiltPackagePage)];
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      timeout: 60_000,
      // The cluster's hostname resolves to local's address inside the browser (as hostaddr does
      // for Node), so the WebSocket's URL, SNI and certificate check all use the cluster name.
      // playwright-core adds --no-sandbox (needed as root, as in CI containers) unless asked for the sandbox.
      args: [`--host-resolver-rules=MAP ${local.host} ${local.hostaddr}`, `--ignore-certificate-errors-spki-list=${spki}`],
    });
    for (const [index, { entry }] of ENTRIES.entries()) {
      const page = await browser.newPage();
      await page.setContent('<!doctype html><title>DSQL from the browser</title><output id="result"></output>');
      await page.addScriptTag({ content: bundles[index]!.code });
      pages.set(entry, page);
    }
  }, 240_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await local?.stop();
  }, 60_000);

  it("the built package's page: only the packages' browser builds went in, no Node built-in", () => {
    const { metafile } = builtBundle!;
    expect(nodeLeftovers(metafile, new Set(builtinModules))).toEqual({ builtinInputs: [], external: [] });
    const packages = Object.keys(metafile.inputs).filter((path) => path.includes('node_modules/'));
    expect(packages.sort()).toEqual(['node_modules/@dsql/core/dist/browser.js', 'node_modules/@dsql/postgres/dist/browser.js']);
  });

  function config(overrides: Partial<DemoConfig> = {}): DemoConfig {
    const { accessKeyId, secretAccessKey } = local!.credentials;
    return {
      host: local!.host,
      region: local!.region,
      webSocketUrl: local!.webSocketUrl!,
      accessKeyId,
      secretAccessKey,
      table: 'browser_visits',
      note: 'from the browser',
      ...overrides,
    };
  }

  /** Runs one of the page's demos (`runDsqlDemo`, `runOccDemo`) and reads what it shows. */
  async function runInPage<R = DemoResult>(page: Page, demo: DemoConfig, name = 'runDsqlDemo'): Promise<R> {
    await page.evaluate(
      ([fn, c]) => (globalThis as unknown as Record<string, (c: DemoConfig) => Promise<void>>)[fn]!(c),
      [name, demo] as const,
    );
    const shown = await page.textContent('#result', { timeout: 10_000 });
    return JSON.parse(shown ?? 'null') as R;
  }

  describe.each(ENTRIES)('with @dsql/postgres/browser $entry', ({ entry, tables: suffix }) => {
    it('signs a token in the page, connects over wss and commits a transaction', async () => {
      const before = local!.stats().webSocketConnections;
      const result = await runInPage(pages.get(entry)!, config({ table: `browser_visits_${suffix}` }));
      expect(result).toEqual({ ok: true, rows: 1, note: 'from the browser', who: 'admin', credentialCalls: 1 });
      expect(local!.stats().webSocketConnections - before).toBeGreaterThan(0);

      // Committed: Node reads the row through the TCP endpoint.
      const sql = dsql({ ...local!.connectionOptions(), max: 1 });
      try {
        expect(await sql`select id, note from ${sql(`browser_visits_${suffix}`)}`).toEqual([{ id: 1, note: 'from the browser' }]);
      } finally {
        await sql.end({ timeout: 5 });
      }
    }, 90_000);

    it('retries a transaction that met an OCC conflict, in the page', async () => {
      const conflicts = local!.stats().occConflicts;
      const result = await runInPage<OccResult>(pages.get(entry)!, config({ table: `browser_occ_${suffix}` }), 'runOccDemo');
      expect(result).toEqual({ ok: true, seen: [0, 10], n: 11 });
      expect(local!.stats().occConflicts - conflicts).toBe(1);
    }, 90_000);

    it('is refused with a token signed by a forged identity, and shows why', async () => {
      const result = await runInPage(pages.get(entry)!, config({ secretAccessKey: 'not-the-secret-key-of-this-access-key' }));
      expect(result.ok).toBe(false);
      expect(result).toMatchObject({ ok: false, error: expect.stringMatching(/access denied/i) });
    }, 90_000);
  });
});
