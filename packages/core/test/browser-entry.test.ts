/**
 * `@dsql/core/browser`: src/browser.ts bundles for the browser (esbuild, platform 'browser', with
 * the swaps of browser-build.mjs) with no Node built-in in it, and the swapped modules answer as
 * the Node ones do — the page's signer (`@aws-crypto/sha256-js`) makes the token
 * `@aws-sdk/dsql-signer` makes, byte for byte; `isIP` agrees with `node:net`'s. The page itself is
 * tested in headless Chromium by packages/postgres/test/browser.integration.test.ts.
 */
import { builtinModules } from 'node:module';
import { isIP as nodeIsIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { DsqlSigner } from '@aws-sdk/dsql-signer';
import { jest } from '@jest/globals';
import * as esbuild from 'esbuild';
import { dsqlCoreBrowserSwaps } from '../browser-build.js';
import type * as coreBrowser from '../src/browser.js';
import { signDsqlToken as signInBrowser } from '../src/browser/sign-token.js';
import { signDsqlToken as signInNode } from '../src/auth/sign-token.js';
import { isIP } from '../src/browser/node-net.js';
import { inspect } from '../src/browser/node-util.js';
import diagnosticsChannel from '../src/browser/node-diagnostics-channel.js';
import { AsyncLocalStorage } from '../src/browser/node-async-hooks.js';
import { defaultProvider, fromIni } from '../src/browser/sdk-credential-chain.js';
import { inspect as nodeInspect } from 'node:util';
import { DsqlCredentialsError } from '../src/errors/errors.js';
import { CREDS, HOST, SESSION_CREDS, verifyToken } from './helpers.js';

/** src/browser.ts bundled for the browser with the swaps, as tsup.browser.config.ts builds it. */
function bundleCoreForBrowser(format: 'esm' | 'iife'): Promise<esbuild.BuildResult<{ write: false; metafile: true }>> {
  return esbuild.build({
    entryPoints: [fileURLToPath(new URL('../src/browser.ts', import.meta.url))],
    bundle: true,
    platform: 'browser',
    format,
    ...(format === 'iife' ? { globalName: 'dsqlCore' } : {}),
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [dsqlCoreBrowserSwaps()],
  });
}

describe('@dsql/core/browser', () => {
  afterEach(() => jest.useRealTimers());

  it('bundles for the browser with no Node built-in in it (swapped, not left out)', async () => {
    const result = await bundleCoreForBrowser('esm');
    const inputs = Object.keys(result.metafile.inputs);
    const builtins = new Set(builtinModules);
    expect(inputs.filter((path) => path.startsWith('node:') || builtins.has(path))).toEqual([]);
    const external = Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
    expect(external).toEqual([]);
    // The shared logic is in, the Node-only modules are not.
    expect(inputs).toEqual(expect.arrayContaining(['src/auth/token-provider.ts', 'src/auth/presign.ts', 'src/browser/sign-token.ts', 'src/browser/node-net.ts']));
    expect(inputs).not.toContain('src/auth/sign-token.ts');
    expect(inputs.some((path) => /credential-provider-(node|ini)/.test(path))).toBe(false);
  });

  it('runs where there is no `process` or `Buffer`, as in a page: endpoints parse, a token is signed', async () => {
    const { outputFiles } = await bundleCoreForBrowser('iife');
    // A page's globals (Web APIs), none of Node's: a free `process` would throw a ReferenceError.
    const page = vm.createContext({ URL, TextEncoder, TextDecoder, setTimeout, clearTimeout, queueMicrotask, crypto: globalThis.crypto });
    const core = vm.runInContext(`${outputFiles[0]!.text}\ndsqlCore;`, page) as typeof coreBrowser;
    expect(vm.runInContext('typeof process + typeof Buffer', page)).toBe('undefinedundefined');
    expect(core.parseEndpoint(HOST)).toMatchObject({ host: HOST, region: 'us-east-1', kind: 'public' });
    // No environment to take a region from: the error says what to pass.
    expect(() => core.parseEndpoint('db.example.com')).toThrow(/region/);
    const tokens = new core.TokenProvider({ host: HOST, region: 'us-east-1', user: 'admin', credentials: async () => CREDS });
    const verified = await verifyToken(await tokens.getToken(), CREDS);
    expect(verified).toMatchObject({ host: HOST, region: 'us-east-1', action: 'DbConnectAdmin', signatureMatches: true });
  });

  it.each([
    ['DbConnectAdmin', CREDS],
    ['DbConnect', SESSION_CREDS],
  ] as const)("the page's signer makes the token @aws-sdk/dsql-signer and core's Node signer make (%s)", async (action, credentials) => {
    const signingDate = new Date('2026-11-24T13:08:27.000Z');
    const request = { hostname: HOST, region: 'us-east-1', action, expiresInSecs: 900, credentials, signingDate };
    const page = await signInBrowser(request);
    expect(page).toBe(await signInNode(request));
    jest.useFakeTimers({ now: signingDate, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const signer = new DsqlSigner({ hostname: HOST, region: 'us-east-1', expiresIn: 900, credentials });
    expect(page).toBe(action === 'DbConnectAdmin' ? await signer.getDbConnectAdminAuthToken() : await signer.getDbConnectAuthToken());
  });

  it("isIP answers as node:net's", () => {
    const inputs = ['127.0.0.1', '0.0.0.0', '255.255.255.255', '256.1.1.1', '01.2.3.4', '1.2.3', '::1', '::', 'fe80::1%eth0', '2001:db8::8a2e:370:7334',
      '::ffff:192.0.2.1', '1::2::3', 'localhost', 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws', '', '[::1]', 'gggg::1', '1:2:3:4:5:6:7:8:9'];
    expect(inputs.map((s) => [s, isIP(s)])).toEqual(inputs.map((s) => [s, nodeIsIP(s)]));
  });

  it('the other stand-ins: inspect.custom is Node\'s symbol, channels have no subscribers, no async context, no SDK chain', async () => {
    expect(inspect.custom).toBe(nodeInspect.custom);
    expect(inspect('x')).toBe('x');
    const channel = diagnosticsChannel.channel('dsql:test');
    expect(channel.hasSubscribers).toBe(false);
    expect(() => channel.publish({})).not.toThrow();
    const storage = new AsyncLocalStorage<number>();
    expect(await storage.run(1, async () => storage.getStore())).toBeUndefined();
    storage.disable();
    expect(() => fromIni()).toThrow(DsqlCredentialsError);
    expect(() => defaultProvider()).toThrow(/in a browser, pass credentials/);
  });
});
