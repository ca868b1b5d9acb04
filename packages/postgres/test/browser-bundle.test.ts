/**
 * `@dsql/postgres/browser` bundles for the browser with no Node built-in in it: Postgres.js and
 * core go in with their Node-only modules swapped (browser-build.ts), not left out. Runs without
 * a browser; browser.integration.test.ts runs the page in headless Chromium.
 */
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { bundleForBrowser, nodeLeftovers } from './support/browser-page.js';

const builtins = new Set(builtinModules);

describe('@dsql/postgres/browser bundle', () => {
  it('a page using it (core from source) has no Node built-in and imports nothing', async () => {
    const { metafile } = await bundleForBrowser();
    expect(nodeLeftovers(metafile, builtins)).toEqual({ builtinInputs: [], external: [] });
    const inputs = Object.keys(metafile.inputs);
    expect(inputs.some((path) => path.includes('postgres/src/connection.js'))).toBe(true);
    expect(inputs.some((path) => path.endsWith('core/src/auth/token-provider.ts'))).toBe(true);
    expect(inputs.some((path) => path.endsWith('src/browser-shims/stream.ts'))).toBe(true);
    // Core's WebSocket socket for browsers goes in; the Node transport and its Node modules stay out.
    expect(inputs.some((path) => path.endsWith('core/src/socket/browser-socket.ts'))).toBe(true);
    expect(inputs.filter((path) => /(postgres\/src\/dsql|core\/src\/socket\/(index|dsql-socket|session-opener|handshake|websocket-dial|tls-dial))\.ts$/.test(path))).toEqual([]);
  }, 60_000);

  it('as published (tsup.browser.config.ts: core left an import), the only import is @dsql/core/browser', async () => {
    const { metafile } = await bundleForBrowser(fileURLToPath(new URL('../src/browser.ts', import.meta.url)), 'package');
    const { builtinInputs, external } = nodeLeftovers(metafile, builtins);
    expect(builtinInputs).toEqual([]);
    expect([...new Set(external)]).toEqual(['@dsql/core/browser']);
  }, 60_000);
});
