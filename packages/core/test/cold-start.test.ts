/**
 * Cold start: what a fresh process loads. Core is built as it is published (tsup with the package's
 * own config: ESM and CommonJS, the SDK's SigV4 signer bundled, tree-shaken, into a chunk of its
 * own) and run in child processes that record every module they load: CommonJS through
 * `require.cache`, ESM through a resolve hook (`module.register`). Importing core must load no AWS
 * SDK (`@aws-sdk/*`, `@smithy/*`) code and not the signer's chunk; signing with environment
 * credentials (Lambda's) loads that chunk, no SDK package and never the credential chain.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DsqlSigner } from '@aws-sdk/dsql-signer';
import { jest } from '@jest/globals';
import { TokenProvider } from '../src/index.js';
import { signDsqlToken } from '../src/auth/sign-token.js';
import { CREDS, HOST, SESSION_CREDS, verifyToken } from './helpers.js';

const coreDir = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The credential chain, the profile provider (and the packages that load them); the signer `@aws-sdk/dsql-signer` loads the chain too. */
const CHAIN = /@aws-sdk[+/](credential-providers|credential-provider-node|credential-provider-ini|dsql-signer)/;
/** The chunk holding the SDK's SigV4 signer (src/auth/sigv4.ts, bundled). */
const SIGNER = /[/\\]sigv4-[A-Z0-9]+\.c?js$/;
/** Any SDK package's module: the signer comes from core's chunk, the rest is not needed to sign. */
const SDK = /@(aws-sdk|smithy|aws-crypto)[+/]/;

let dir: string;

/** Records every module the child loads, then runs `body` (an async function body using `core`). */
function childScript(format: 'esm' | 'cjs', body: string): string {
  const load = format === 'esm' ? `const core = await import('./dist/index.js');` : `const core = require('./dist/index.cjs');`;
  return `
const { createRequire, register } = require('node:module');
const { MessageChannel, receiveMessageOnPort } = require('node:worker_threads');
const { pathToFileURL } = require('node:url');
const seen = new Set();
const { port1, port2 } = new MessageChannel();
port1.unref();
register('./record-hook.mjs', { parentURL: pathToFileURL(__filename), data: { port: port2 }, transferList: [port2] });
(async () => {
  ${load}
  const result = await (async () => { ${body} })();
  for (let m; (m = receiveMessageOnPort(port1)); ) seen.add(m.message);
  for (const file of Object.keys(require.cache)) seen.add(file);
  process.stdout.write(JSON.stringify({ result, loaded: [...seen] }));
})().catch((err) => { console.error(err); process.exit(1); });
`;
}

/** `loaded`: every module the child loaded; `output`: everything the child wrote to stdout (with `nodeArgs` tracing, V8's lines too). */
function runChild(format: 'esm' | 'cjs', body: string, env: Record<string, string> = {}, nodeArgs: string[] = []): { result: unknown; loaded: string[]; output: string } {
  const file = join(dir, `child-${format}-${Math.random().toString(36).slice(2)}.cjs`);
  writeFileSync(file, childScript(format, body));
  // Only what the child needs: no AWS_* from the machine running the tests.
  const base = { PATH: process.env.PATH ?? '', HOME: join(dir, 'home'), AWS_CONFIG_FILE: join(dir, 'home', 'config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'home', 'credentials') };
  const out = execFileSync(process.execPath, ['--no-warnings', ...nodeArgs, file], { cwd: dir, env: { ...base, ...env }, encoding: 'utf8', timeout: 60_000 });
  // V8's trace lines (nodeArgs) may come before or after the child's JSON, which ends the line it starts.
  const json = /\{"result":.*?"loaded":\[[^\]]*\]\}/s.exec(out);
  if (!json) throw new Error(`no result from the child in: ${out.slice(0, 500)}`);
  return { ...(JSON.parse(json[0]) as { result: unknown; loaded: string[] }), output: out };
}

beforeAll(() => {
  // Inside core's node_modules, so the bundles' imports resolve to core's own dependencies.
  dir = mkdtempSync(join(coreDir, 'node_modules', '.cold-start-'));
  mkdirSync(join(dir, 'home'));
  writeFileSync(join(dir, 'home', 'config'), '[profile filed]\nregion = us-east-1\n');
  const keys = `aws_access_key_id = ${CREDS.accessKeyId}\naws_secret_access_key = ${CREDS.secretAccessKey}\n`;
  writeFileSync(join(dir, 'home', 'credentials'), `[filed]\n${keys}[default]\n${keys}`);
  writeFileSync(
    join(dir, 'record-hook.mjs'),
    'let port;\nexport function initialize(data) { port = data.port; }\nexport async function resolve(specifier, context, next) {\n  const r = await next(specifier, context);\n  port.postMessage(r.url);\n  return r;\n}\n',
  );
  // The published build: tsup with core's own config (without type declarations), into the
  // directory the children run in; `type: module` as in core's package.json.
  const tsup = join(dirname(createRequire(import.meta.url).resolve('tsup/package.json')), 'dist', 'cli-default.js');
  execFileSync(process.execPath, [tsup, '--out-dir', join(dir, 'dist'), '--no-dts', '--silent'], { cwd: coreDir, encoding: 'utf8', timeout: 120_000 });
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const ENV_CREDS = { AWS_ACCESS_KEY_ID: SESSION_CREDS.accessKeyId, AWS_SECRET_ACCESS_KEY: SESSION_CREDS.secretAccessKey, AWS_SESSION_TOKEN: SESSION_CREDS.sessionToken! };
const SIGN = `const t = core.TokenProvider.shared({ host: '${HOST}', region: 'us-east-1' }); return { token: await t.getToken(), stats: t.stats() };`;

describe.each(['esm', 'cjs'] as const)('a fresh process (%s build)', (format) => {
  it('loads no AWS SDK module and not the signer when it imports @dsql/core, nor when it creates a session', () => {
    const { result, loaded } = runChild(format, `const s = core.createDsqlSession({ host: '${HOST}' }); return typeof s.tokens.getToken;`);
    expect(result).toBe('function');
    expect(loaded.some((m) => /[/\\]dist[/\\]index\.c?js$/.test(m))).toBe(true); // the recorder saw core itself
    expect(loaded.filter((m) => SDK.test(m))).toEqual([]);
    expect(loaded.filter((m) => SIGNER.test(m))).toEqual([]);
  });

  it('signs with environment credentials (AWS_ACCESS_KEY_ID/SECRET/SESSION_TOKEN) without loading the credential chain', async () => {
    const { result, loaded } = runChild(format, SIGN, ENV_CREDS);
    const { token, stats } = result as { token: string; stats: { signings: number; credentialResolutions: number } };
    expect(stats).toMatchObject({ signings: 1, credentialResolutions: 1 });
    const verified = await verifyToken(token, SESSION_CREDS);
    expect(verified).toMatchObject({ host: HOST, region: 'us-east-1', action: 'DbConnectAdmin', accessKeyId: SESSION_CREDS.accessKeyId, signatureMatches: true });
    expect(new URL(`https://${token}`).searchParams.get('X-Amz-Security-Token')).toBe(SESSION_CREDS.sessionToken);
    // The signer's own chunk, and no SDK package: not @smithy/signature-v4's CommonJS build and the
    // ~330 KB of @smithy/core it requires (20–25 ms of compiling in every cold start).
    expect(loaded.filter((m) => SIGNER.test(m))).toHaveLength(1);
    expect(loaded.filter((m) => SDK.test(m))).toEqual([]);
  });

  it('loads the default chain without environment credentials (here it answers from the shared credentials file)', async () => {
    const { result, loaded } = runChild(format, SIGN);
    const { token } = result as { token: string };
    expect((await verifyToken(token, CREDS)).signatureMatches).toBe(true);
    expect(loaded.some((m) => /@aws-sdk[+/]credential-provider-node/.test(m))).toBe(true);
  });

  it('loads the chain when it is needed (a profile): the recorder sees it', async () => {
    const { result, loaded } = runChild(format, SIGN.replace("region: 'us-east-1' }", "region: 'us-east-1', profile: 'filed' }"));
    const { token } = result as { token: string };
    expect((await verifyToken(token, CREDS)).signatureMatches).toBe(true);
    expect(loaded.some((m) => CHAIN.test(m))).toBe(true);
  });

  it("checks a cluster host name without running Node's IPv6 pattern (~100 KB of regular expression: ~3 ms the first time, ~1 ms the second)", () => {
    // V8 traces each regular expression it compiles: Node's IPv6 pattern is the one above 50 KB of
    // bytecode. The TLS handshake runs it once on the name (as for the plain driver); resolving
    // the config and the token provider's host must not add runs of their own.
    const BIG = /bytecode size: (\d+)/g;
    const big = (output: string) => [...output.matchAll(BIG)].filter((m) => Number(m[1]) > 50_000).length;
    const body = `const c = core.resolveConfig({ host: '${HOST}', hostaddr: '127.0.0.1' }); new core.TokenProvider({ host: c.host, region: c.region, user: 'admin', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } }); return c.host;`;
    const named = runChild(format, body, {}, ['--trace-regexp-tier-up']);
    expect(named.result).toBe(HOST);
    expect(big(named.output)).toBe(0);
    // The recorder sees the pattern when it runs: an IPv6 hostaddr is checked by it.
    const v6 = runChild(format, `return core.resolveConfig({ host: '${HOST}', hostaddr: '::1' }).hostaddr;`, {}, ['--trace-regexp-tier-up']);
    expect(v6.result).toBe('::1');
    expect(big(v6.output)).toBeGreaterThan(0);
  });

  it('loads pg-protocol (the startup handshake) at the first connection, not when a pool makes its sockets (DsqlSockets)', () => {
    const PG_PROTOCOL = /[/\\]pg-protocol[/\\]/;
    // 127.0.0.1:1 refuses at once: the attempt gets as far as dialling, with no DNS and no token.
    const session = `const s = core.createDsqlSession({ host: '${HOST}', hostaddr: '127.0.0.1', port: 1 }); const sockets = new core.DsqlSockets(s);`;
    const made = runChild(format, `${session} const socket = sockets.open(); socket.destroy(); return typeof socket.write;`);
    expect(made.result).toBe('function');
    expect(made.loaded.filter((m) => PG_PROTOCOL.test(m))).toEqual([]);
    const startup = 'const startup = Buffer.alloc(8); startup.writeInt32BE(8, 0); startup.writeInt32BE(196608, 4);';
    const connected = runChild(
      format,
      `${session} ${startup} const socket = sockets.open({ deadlineMs: 300 }); return await new Promise((resolve) => { socket.on('error', (e) => resolve(e.code)); socket.write(startup); });`,
    );
    expect(typeof connected.result).toBe('string'); // the refusal reached the driver as the socket's error
    expect(connected.loaded.some((m) => PG_PROTOCOL.test(m))).toBe(true);
  });
});

it('the build bundles only the parts of the SDK a token needs into the signer chunk, ESM and CommonJS (not event streams, schemas, protocols)', () => {
  const chunks = readdirSync(join(dir, 'dist')).filter((f) => SIGNER.test(`/${f}`));
  expect(chunks).toHaveLength(2); // ESM and CommonJS
  for (const chunk of chunks) {
    const text = readFileSync(join(dir, 'dist', chunk), 'utf8');
    expect(text).toContain('AWS4-HMAC-SHA256'); // the signer's algorithm name: it is there
    expect(text).not.toMatch(/@smithy\/core\/event-streams|EventStreamSerde|NormalizedSchema|HttpBindingProtocol/);
    expect(text.length).toBeLessThan(60_000);
  }
});

describe('an application bundle with the credential chain left out (a Lambda bundle: --external:@aws-sdk/credential-provider-node)', () => {
  const CHAIN_PACKAGES = ['@aws-sdk/credential-provider-node', '@aws-sdk/credential-provider-ini'];
  let out: string;
  const sizes: Record<string, number> = {};

  beforeAll(async () => {
    // Outside any node_modules: the packages left out cannot be found at run time, as in a bundle deployed alone.
    out = mkdtempSync(join(tmpdir(), 'dsql-bundle-'));
    const { build } = await import('esbuild');
    for (const [name, external] of [
      ['full', []],
      ['no-chain', CHAIN_PACKAGES],
    ] as const) {
      const result = await build({
        entryPoints: [join(dir, 'dist', 'index.js')],
        bundle: true,
        platform: 'node',
        format: 'esm',
        minify: true,
        logLevel: 'silent',
        external: [...external],
        outfile: join(out, `${name}.mjs`),
        metafile: true,
      });
      sizes[name] = statSync(join(out, `${name}.mjs`)).size;
      if (name === 'no-chain') expect(Object.keys(result.metafile.inputs).filter((f) => /credential-provider|nested-clients/.test(f))).toEqual([]);
    }
  }, 120_000);

  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  /** Signs a token with the no-chain bundle in a fresh process; answers the token or the error's fields. */
  function signWithBundle(env: Record<string, string>): { token?: string; error?: { name: string; code: string; message: string; hint: string; transient: boolean } } {
    const file = join(out, `child-${Math.random().toString(36).slice(2)}.mjs`);
    writeFileSync(
      file,
      `import * as core from './no-chain.mjs';
const t = core.TokenProvider.shared({ host: '${HOST}', region: 'us-east-1' });
try { process.stdout.write(JSON.stringify({ token: await t.getToken() })); }
catch (e) { process.stdout.write(JSON.stringify({ error: { name: e.name, code: e.code, message: e.message, hint: e.hint, transient: e.transient } })); }
`,
    );
    const base = { PATH: process.env.PATH ?? '', HOME: join(out, 'home') };
    return JSON.parse(execFileSync(process.execPath, ['--no-warnings', file], { cwd: out, env: { ...base, ...env }, encoding: 'utf8', timeout: 60_000 })) as ReturnType<typeof signWithBundle>;
  }

  it('is well under half the full bundle (measured ~40 %), and signs with environment credentials', async () => {
    expect(sizes['no-chain']! / sizes.full!).toBeLessThan(0.5);
    const { token, error } = signWithBundle(ENV_CREDS);
    expect(error).toBeUndefined();
    expect((await verifyToken(token!, SESSION_CREDS)).signatureMatches).toBe(true);
  });

  it('without credentials, says which package is missing and what to do (not transient: retrying does not help)', () => {
    const { token, error } = signWithBundle({});
    expect(token).toBeUndefined();
    expect(error).toMatchObject({ name: 'DsqlCredentialsError', code: 'credentials-unavailable', transient: false });
    expect(error!.message).toMatch(/credential provider package @aws-sdk\/credential-provider-node could not be loaded/);
    expect(error!.hint).toMatch(/left out of the bundle.*pass credentials/);
  });
});

describe('signDsqlToken', () => {
  afterEach(() => jest.useRealTimers());

  it.each([
    ['DbConnectAdmin', CREDS],
    ['DbConnect', SESSION_CREDS],
  ] as const)('makes the token @aws-sdk/dsql-signer makes, byte for byte (%s)', async (action, credentials) => {
    const signingDate = new Date('2026-11-24T13:08:27.000Z');
    const ours = await signDsqlToken({ hostname: HOST, region: 'us-east-1', action, expiresInSecs: 900, credentials, signingDate });
    // DsqlSigner signs at "now": pin the clock to the same second.
    jest.useFakeTimers({ now: signingDate, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const signer = new DsqlSigner({ hostname: HOST, region: 'us-east-1', expiresIn: 900, credentials });
    const theirs = action === 'DbConnectAdmin' ? await signer.getDbConnectAdminAuthToken() : await signer.getDbConnectAuthToken();
    expect(ours).toBe(theirs);
  });

  it('TokenProvider signs at its own clock: the token is valid from the second the signing began', async () => {
    const at = Date.parse('2026-11-24T13:08:27.750Z');
    const tokens = new TokenProvider({ host: HOST, region: 'us-east-1', credentials: CREDS, now: () => at });
    const verified = await verifyToken(await tokens.getToken(), CREDS);
    expect(verified.signedAt.toISOString()).toBe('2026-11-24T13:08:27.000Z');
    expect(verified.signatureMatches).toBe(true);
  });
});
