#!/usr/bin/env node
// The packages as a user gets them: `pnpm pack` every published package, install the tarballs
// with npm into fresh apps outside the workspace — one with the lowest version of each peer our
// ranges accept, one with what npm hands out today — then compile every README quick start
// (TypeScript 5.9: node16 ESM, node16 CommonJS, `moduleResolution: bundler`; TypeScript latest on
// the same three; never skipLibCheck) and run it against a `dsql-local` started from that app,
// on each Node version of the column. Every check counts as one test in
// .test-results/user-apps-<column>.json (counted by `pnpm test:matrix` and .ci/run's totals line).
//
//   node scripts/user-apps/run.mjs [--columns lowest,latest] [--keep]
//
// Needs the packages built (`pnpm build`), pnpm and npm on PATH, and the npm registry.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureNode } from '../node-builds.mjs';
import { inheritedImports, quickStartSnippets, splitImports } from './readme-snippets.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const template = join(here, 'template');
const args = process.argv.slice(2);
const keep = args.includes('--keep');
const columnsArg = args.includes('--columns') ? args[args.indexOf('--columns') + 1].split(',') : ['lowest', 'latest'];

/** The cluster the README quick starts name; dsql-local answers for it (hostaddr + port from the environment). */
const README_CLUSTER = { clusterId: 'abcdefghijklmnopqrstuvwxyz', region: 'us-east-1' };

const readPkg = (dir) => JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8'));
// drizzle-kit is no peer of ours (it only writes the folders migrate() reads): the oldest line
// that runs with the oldest drizzle-orm we accept (0.36) is the floor we test.
const DRIZZLE_KIT_RANGE = readPkg('drizzle').peerDependencies?.['drizzle-kit'] ?? '>=0.28.0';

/** The esbuild our browser builds use: the bundler of the app's browser check. */
const ESBUILD_VERSION = readPkg('postgres').devDependencies.esbuild;

/** Peers whose lowest and latest versions make the matrix, with the range we publish. */
const PEERS = [
  { name: 'pg', range: readPkg('pg').peerDependencies.pg },
  { name: 'postgres', range: readPkg('postgres').peerDependencies.postgres },
  { name: 'kysely', range: readPkg('kysely').peerDependencies.kysely },
  { name: 'drizzle-orm', range: readPkg('drizzle').peerDependencies['drizzle-orm'] },
  { name: 'drizzle-kit', range: DRIZZLE_KIT_RANGE },
];

/**
 * Columns of the matrix. `nodes`: the Node majors the quick starts run on (the first one also
 * installs, compiles and runs dsql-local). Kysely 0.29 needs Node 22, so "latest" starts there.
 */
const COLUMNS = {
  lowest: { nodes: [20, 24], pick: 'lowest', typesNode: '20' },
  latest: { nodes: [22, 24, 26], pick: 'latest', typesNode: 'latest' },
};

/**
 * The three ways a TypeScript app resolves our packages. CommonJS is checked under `node16`,
 * unless a peer of the column ships ESM only (Kysely 0.29, Postgres.js 4): such a package can only
 * be required through Node's require(esm) (Node ≥ 20.19 / 22.12), which TypeScript models as
 * `module: node20` (5.9+); node16 refuses any import of it (TS1479), whoever writes it.
 */
function modes(esmOnly) {
  const cjs = esmOnly.length ? `node20-cjs (require(esm): ${esmOnly.join(', ')} ESM-only)` : 'node16-cjs';
  return [
    { name: 'node16-esm', dir: 'esm', tsconfig: 'tsconfig.json', emits: true },
    { name: cjs, dir: 'cjs', tsconfig: 'tsconfig.json', emits: true },
    { name: 'bundler', dir: 'esm', tsconfig: 'tsconfig.bundler.json', emits: false },
  ];
}

/** Peers installed in `app` whose main entry `require()` would load as an ES module. */
function esmOnlyPeers(app) {
  return PEERS.filter((peer) => peer.name !== 'drizzle-kit' && requireLoadsEsm(join(app, 'node_modules', peer.name))).map((peer) => peer.name);
}

/** Resolves the package's `.` export for the conditions `require` + `node` and tells the file's format. */
function requireLoadsEsm(pkgDir) {
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  const pick = (entry) => {
    if (typeof entry === 'string' || entry === null) return entry;
    if (Array.isArray(entry)) return pick(entry[0]);
    if (entry['.'] !== undefined) return pick(entry['.']);
    for (const [condition, value] of Object.entries(entry)) {
      if (['require', 'node', 'default'].includes(condition)) {
        const found = pick(value);
        if (found) return found;
      }
    }
    return undefined;
  };
  const file = pkg.exports !== undefined ? pick(pkg.exports) : (pkg.main ?? 'index.js');
  if (!file) return true; // no CommonJS entry at all
  if (file.endsWith('.cjs')) return false;
  if (file.endsWith('.mjs')) return true;
  // A .js file takes the "type" of the nearest package.json (postgres 3.4 keeps one in cjs/).
  for (let dir = dirname(join(pkgDir, file)); dir.startsWith(pkgDir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).type === 'module';
  }
  return false;
}

// ---------------------------------------------------------------------------------------------

/**
 * The environment of a user's shell: without what `pnpm run` exports for its own scripts
 * (npm_config_* settings npm warns about, npm_lifecycle_*, the workspace's INIT_CWD). A user's
 * own NPM_CONFIG_* (upper case: a registry mirror, say) stay.
 */
const userEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(npm_|pnpm_|INIT_CWD$)/.test(key)));

function run(cmd, argv, options = {}) {
  const result = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 10 * 60_000, env: userEnv, ...options });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? `\n${result.error.message}` : ''}`;
  return { ok: result.status === 0, status: result.status, output, stdout: result.stdout ?? '' };
}

function npmJson(argv) {
  const r = run('npm', [...argv, '--json'], { cwd: tmpdir() });
  if (!r.ok) throw new Error(`npm ${argv.join(' ')} failed:\n${r.output.trim().slice(-2000)}`);
  return JSON.parse(r.stdout);
}

const parseVersion = (v) => v.split('.').map(Number);
const compareVersions = (a, b) => {
  const [x, y] = [parseVersion(a), parseVersion(b)];
  for (let i = 0; i < 3; i += 1) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
};

/** The lowest release (no prerelease) satisfying `range`, as npm resolves ranges. */
function lowestInRange(name, range) {
  const found = npmJson(['view', `${name}@${range}`, 'version']);
  const versions = (Array.isArray(found) ? found : [found]).filter((v) => !v.includes('-')).sort(compareVersions);
  if (versions.length === 0) throw new Error(`no release of ${name} satisfies ${range}`);
  return versions[0];
}

const latestVersion = (name) => npmJson(['view', name, 'version']);

/** Whether `version` of `name` satisfies `range` (npm's own range matching). */
function satisfies(name, version, range) {
  const found = npmJson(['view', `${name}@${range}`, 'version']);
  return (Array.isArray(found) ? found : [found]).includes(version);
}

const tail = (text, lines = 12) => text.trim().split('\n').slice(-lines).join('\n');
/** A failed run's output without stack frames: the message, code and the source line. */
const summary = (text) => tail(text.split('\n').filter((l) => !/^\s+at /.test(l) && l.trim() !== '').join('\n'), 14);

// ---------------------------------------------------------------------------------------------

class Checks {
  constructor(column) {
    this.column = column;
    this.list = [];
  }

  add(name, ok, detail = '') {
    this.list.push({ name, ok, detail: ok ? '' : detail.trim() });
    console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${name}${ok ? '' : `\n${detail.trim().split('\n').slice(0, 14).map((l) => `         ${l}`).join('\n')}`}`);
    return ok;
  }

  write(extra) {
    const dir = join(root, '.test-results');
    mkdirSync(dir, { recursive: true });
    const passed = this.list.filter((c) => c.ok).length;
    const failed = this.list.length - passed;
    const totals = { name: `user-apps-${this.column}`, passed, failed, skipped: 0, suitesFailedToRun: 0, success: failed === 0, ...extra, checks: this.list,
      failures: this.list.filter((c) => !c.ok).map((c) => ({ file: 'scripts/user-apps', test: c.name, message: c.detail.split('\n')[0] ?? '' })) };
    writeFileSync(join(dir, `user-apps-${this.column}.json`), JSON.stringify(totals, null, 2));
    return totals;
  }
}

function packAll(dest) {
  for (const dir of readdirSync(join(root, 'packages'))) {
    const pkg = readPkg(dir);
    if (pkg.private) continue;
    for (const file of Object.values(pkg.exports ?? {}).flatMap((e) => (typeof e === 'string' ? [] : [e.import?.default, e.require?.default]))) {
      if (file && !existsSync(join(root, 'packages', dir, file))) throw new Error(`packages/${dir}/${file} is missing: run \`pnpm build\` first`);
    }
  }
  const r = run('pnpm', ['--filter', './packages/*', 'pack', '--pack-destination', dest], { cwd: root });
  if (!r.ok) throw new Error(`pnpm pack failed:\n${tail(r.output)}`);
  return readdirSync(dest).filter((f) => f.endsWith('.tgz')).map((f) => join(dest, f));
}

const compilerOptionsOf = {};

/** Writes the app: template files in esm/ and cjs/, one .ts per quick start, tsconfigs. */
function writeApp(app, snippets) {
  for (const [dir, type] of [['esm', 'module'], ['cjs', 'commonjs']]) {
    mkdirSync(join(app, dir), { recursive: true });
    writeFileSync(join(app, dir, 'package.json'), JSON.stringify({ type }, null, 2));
    for (const file of ['schema.ts', 'globals.d.ts', 'setup.ts', ...(type === 'module' ? ['prepare.ts'] : [])]) copyFileSync(join(template, file), join(app, dir, file));
    const compilerOptions = {
      target: 'es2022',
      lib: ['es2022'],
      module: 'node16',
      moduleResolution: 'node16',
      strict: true,
      esModuleInterop: true,
      skipLibCheck: false,
      types: ['node'],
      rootDir: '.',
      outDir: 'dist',
    };
    writeFileSync(join(app, dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['*.ts'] }, null, 2));
    compilerOptionsOf[dir] = compilerOptions;
    writeFileSync(
      join(app, dir, 'tsconfig.bundler.json'),
      JSON.stringify({ compilerOptions: { ...compilerOptions, module: 'esnext', moduleResolution: 'bundler', noEmit: true }, include: ['*.ts'] }, null, 2),
    );
    snippets.forEach((s, index) => {
      const inherited = inheritedImports(snippets, index);
      const header =
        `// ${s.source}:${s.line}, unchanged${type === 'commonjs' ? ' (inside an async function: CommonJS has no top-level await)' : ''}\n` +
        `import './setup.js';\n${inherited ? `// imported by an earlier block of this quick start:\n${inherited}\n` : ''}`;
      let text;
      if (type === 'module') text = `${header}${s.code}\nexport {};\n`;
      else {
        const { imports, body } = splitImports(s.code);
        text = `${header}${imports}\n\nasync function main(): Promise<void> {\n${body}\n}\n\nmain().catch((err: unknown) => {\n  console.error(err);\n  process.exitCode = 1;\n});\n\nexport {};\n`;
      }
      writeFileSync(join(app, dir, `${s.name}.ts`), text);
    });
  }
  copyFileSync(join(template, 'drizzle.config.ts'), join(app, 'drizzle.config.ts'));
  copyFileSync(join(template, 'drizzle-schema.ts'), join(app, 'drizzle-schema.ts'));
}

/** tsc's diagnostics, grouped: one check per quick start, one for published .d.ts, one for the harness. */
function compileChecks(checks, app, label, tsc, mode, snippets) {
  const project = join(app, mode.dir, mode.tsconfig);
  const extra = mode.emits && label.startsWith('TypeScript 5') ? [] : ['--noEmit'];
  const r = run(process.execPath, [tsc, '-p', project, '--pretty', 'false', ...extra], { cwd: app });
  const byFile = new Map();
  let current = null;
  for (const line of r.output.split('\n')) {
    const m = /^(.+?)\(\d+,\d+\): error TS\d+/.exec(line);
    if (m) {
      // tsc names files relative to its working directory (the app).
      current = (m[1].startsWith('/') ? relative(app, m[1]) : m[1]).replace(/\\/g, '/');
      byFile.set(current, [...(byFile.get(current) ?? []), line]);
    } else if (current && /^\s/.test(line)) byFile.get(current).push(line);
    else current = null;
  }
  const errorsIn = (pred) => [...byFile].filter(([f]) => pred(f)).flatMap(([, lines]) => lines);
  for (const s of snippets) {
    const errors = errorsIn((f) => f === `${mode.dir}/${s.name}.ts`);
    checks.add(`${label} ${mode.name}: ${s.source}:${s.line} compiles`, errors.length === 0, errors.join('\n'));
  }
  const dts = errorsIn((f) => f.includes('node_modules/@dsql/'));
  checks.add(`${label} ${mode.name}: @dsql/* declaration files type-check (no skipLibCheck)`, dts.length === 0, dts.join('\n'));
  // Other packages' own .d.ts errors (drizzle-orm's gel-core without `gel`, say) reach every
  // user of that package without skipLibCheck, with or without us: listed, not counted.
  const others = new Map();
  for (const [f, lines] of byFile) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1];
    if (pkg && !pkg.startsWith('@dsql/')) others.set(pkg, (others.get(pkg) ?? 0) + lines.filter((l) => /error TS/.test(l)).length);
  }
  if (others.size) console.log(`       (not counted) errors in other packages' declaration files: ${[...others].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  const harness = errorsIn((f) => !f.includes('node_modules/') && !snippets.some((s) => f === `${mode.dir}/${s.name}.ts`));
  const unexplained = !r.ok && byFile.size === 0 ? [tail(r.output)] : [];
  checks.add(`${label} ${mode.name}: app's own files compile`, harness.length + unexplained.length === 0, [...harness, ...unexplained].join('\n'));
}

/** Starts the app's `dsql-local` CLI for the README's cluster; resolves its environment and a stop(). */
async function startLocal(app, node) {
  const caFile = join(app, 'dsql-local-ca.pem');
  const child = spawn(
    node,
    [join(app, 'node_modules/@dsql/local/dist/cli.js'), '--port', '0', '--region', README_CLUSTER.region, '--cluster-id', README_CLUSTER.clusterId, '--ca-file', caFile],
    { cwd: app, env: userEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const killGroup = () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', killGroup);
  const ready = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), 60_000);
    const onData = (chunk) => {
      output += chunk;
      if (output.includes('Press Ctrl+C')) {
        clearTimeout(timer);
        resolve(true);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => (output += chunk));
    exited.then(() => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(killGroup, 15_000);
      await exited;
      clearTimeout(timer);
    }
    killGroup(); // embedded PostgreSQL, should anything of the group be left
    process.removeListener('exit', killGroup);
  };
  if (!ready) {
    await stop();
    return { ok: false, output };
  }
  const env = { NODE_EXTRA_CA_CERTS: caFile };
  for (const line of output.split('\n')) {
    if (!line.startsWith('export ') || line.includes('PGPASSWORD')) continue;
    for (const [, key, value] of line.matchAll(/([A-Z_]+)=(\S+)/g)) env[key] = value;
  }
  return { ok: true, env, output, stop };
}

function runScript(node, file, app, env, timeoutMs = 90_000) {
  return run(node, [file], { cwd: app, env: { ...userEnv, ...env }, timeout: timeoutMs, killSignal: 'SIGKILL' });
}

/**
 * A web page's bundle: `@dsql/postgres/browser` from the installed package, bundled by the app's
 * esbuild for the browser with no plugin and no option a user would need to know of. Passes when
 * the bundle holds our two browser builds and no Node built-in, and imports nothing.
 */
function bundleBrowserEntry(app) {
  const dir = join(app, 'browser');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'page.js'), "import { dsql, transaction } from '@dsql/postgres/browser';\n\nglobalThis.dsqlPage = { dsql, transaction };\n");
  const esbuild = ['page.js', '--bundle', '--platform=browser', '--format=esm', '--outfile=out.js', '--metafile=meta.json', '--log-level=warning'];
  const r = run(join(app, 'node_modules/.bin/esbuild'), esbuild, { cwd: dir });
  if (!r.ok) return { ok: false, output: tail(r.output) };
  const { inputs, outputs } = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
  const builtins = new Set(builtinModules);
  const nodeInputs = Object.keys(inputs).filter((path) => path.startsWith('node:') || builtins.has(path));
  const external = Object.values(outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
  const missing = ['@dsql/postgres/dist/browser.js', '@dsql/core/dist/browser.js'].filter((f) => !Object.keys(inputs).some((path) => path.endsWith(`node_modules/${f}`)));
  const problems = [
    ...(nodeInputs.length ? [`Node built-ins in the bundle: ${nodeInputs.join(', ')}`] : []),
    ...(external.length ? [`imports left external: ${external.join(', ')}`] : []),
    ...(missing.length ? [`not in the bundle: ${missing.join(', ')}`] : []),
  ];
  return { ok: problems.length === 0, output: problems.join('\n') };
}

async function runColumn(columnName, tarballs, snippets) {
  const column = COLUMNS[columnName];
  const checks = new Checks(columnName);
  console.log(`\nuser apps — ${columnName} peers`);
  const versions = {};
  try {
    for (const peer of PEERS) versions[peer.name] = column.pick === 'lowest' ? lowestInRange(peer.name, peer.range) : latestVersion(peer.name);
  } catch (err) {
    checks.add(`${columnName}: resolve peer versions from the npm registry`, false, String(err?.message ?? err));
    return checks.write({ versions });
  }
  // An extra the @dsql/postgres README's Kysely line imports (not ours): the newest release
  // whose kysely range admits this column's kysely.
  const kpjVersions = npmJson(['view', 'kysely-postgres-js', 'versions']).filter((v) => !v.includes('-')).sort(compareVersions).reverse();
  let kysePostgresJs = kpjVersions[0];
  for (const v of kpjVersions) {
    const range = npmJson(['view', `kysely-postgres-js@${v}`, 'peerDependencies']).kysely;
    if (!range || satisfies('kysely', versions.kysely, range)) {
      kysePostgresJs = v;
      break;
    }
  }
  const nodes = column.nodes.map((major) => ensureNode(major));
  const ts59 = [npmJson(['view', 'typescript@~5.9.0', 'version'])].flat().sort(compareVersions).at(-1);
  const tsLatest = latestVersion('typescript');
  console.log(
    `  versions: ${Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(', ')}; kysely-postgres-js ${kysePostgresJs}; ` +
      `typescript ${ts59} and ${tsLatest}; Node ${nodes.map((n) => n.version).join(', ')}`,
  );

  const app = mkdtempSync(join(tmpdir(), `dsql-user-app-${columnName}-`));
  // As root, @dsql/local runs the embedded PostgreSQL as the `postgres` user, which must be able
  // to reach the app's node_modules (mkdtemp makes the directory 0700).
  chmodSync(app, 0o755);
  const removeApp = () => keep || rmSync(app, { recursive: true, force: true });
  process.once('exit', removeApp);
  try {
    writeApp(app, snippets);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: `dsql-user-app-${columnName}`, private: true, version: '1.0.0' }, null, 2));
    const npmArgs = ['install', '--no-audit', '--no-fund', '--loglevel=warn'];
    // @aws-sdk/dsql-signer: @dsql/local's README signs a plain driver's token with it (the
    // adapters no longer depend on it, so it is the user's own install, at its latest).
    const wanted = [...tarballs, ...Object.entries(versions).map(([k, v]) => `${k}@${v}`), '@aws-sdk/dsql-signer'];
    // What the READMEs tell a user to install, in one go; npm's peer warnings mean a range is wrong.
    const install = run('npm', [...npmArgs, ...wanted], { cwd: app });
    const peerTrouble = install.output.split('\n').filter((l) => /ERESOLVE|overriding peer dependency|Conflicting peer dependency|Could not resolve dependency/.test(l));
    checks.add(`${columnName}: npm install of the packed @dsql/* packages with ${Object.entries(versions).map(([k, v]) => `${k}@${v}`).join(' ')} (no peer conflict)`, install.ok && peerTrouble.length === 0, tail(install.output, 30));
    if (!install.ok) {
      const forced = run('npm', [...npmArgs, '--force', ...wanted], { cwd: app });
      if (!forced.ok) {
        checks.add(`${columnName}: npm install --force`, false, tail(forced.output));
        return checks.write({ versions });
      }
    }
    // Tools and the extra, outside the peer check above.
    const tools = run('npm', [...npmArgs, '--legacy-peer-deps', `esbuild@${ESBUILD_VERSION}`, `typescript@${ts59}`, `typescript-latest@npm:typescript@${tsLatest}`, `@types/node@${column.typesNode}`, `kysely-postgres-js@${kysePostgresJs}`], { cwd: app });
    if (!tools.ok) {
      checks.add(`${columnName}: npm install of esbuild, typescript, @types/node and kysely-postgres-js`, false, tail(tools.output));
      return checks.write({ versions });
    }
    const browser = bundleBrowserEntry(app);
    checks.add(`${columnName}: esbuild ${ESBUILD_VERSION} bundles @dsql/postgres/browser for the browser with no plugin: no Node built-in`, browser.ok, browser.output);

    const esmOnly = esmOnlyPeers(app);
    if (esmOnly.length) {
      const compilerOptions = { ...compilerOptionsOf.cjs, module: 'node20', moduleResolution: 'node16' };
      writeFileSync(join(app, 'cjs', 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['*.ts'] }, null, 2));
    }
    const MODES = modes(esmOnly);
    const tsc59 = join(app, 'node_modules/typescript/bin/tsc');
    const tscLatest = join(app, 'node_modules/typescript-latest/bin/tsc');
    for (const mode of MODES) compileChecks(checks, app, `TypeScript ${ts59}`, tsc59, mode, snippets);
    for (const mode of MODES) compileChecks(checks, app, `TypeScript ${tsLatest}`, tscLatest, mode, snippets);

    const kit = run(nodes[0].node, [join(app, 'node_modules/drizzle-kit/bin.cjs'), 'generate', '--config', 'drizzle.config.ts'], { cwd: app });
    const journal = existsSync(join(app, 'drizzle/meta/_journal.json'));
    checks.add(`${columnName}: drizzle-kit ${versions['drizzle-kit']} generate writes a migrations folder`, kit.ok && journal, tail(kit.output));
    const lint = run(nodes[0].node, [join(app, 'node_modules/@dsql/drizzle/dist/cli.js'), 'check', './drizzle'], { cwd: app });
    checks.add(`${columnName}: dsql-drizzle check accepts drizzle-kit ${versions['drizzle-kit']}'s folder`, lint.ok, tail(lint.output));

    const local = await startLocal(app, nodes[0].node);
    if (!checks.add(`${columnName}: dsql-local (the app's @dsql/local CLI) starts for the README's cluster on Node ${nodes[0].version}`, local.ok, tail(local.output))) {
      return checks.write({ versions });
    }
    try {
      const prepare = runScript(nodes[0].node, join(app, 'esm/dist/prepare.js'), app, local.env);
      checks.add(`${columnName}: tables and role for the quick starts created through @dsql/pg`, prepare.ok, summary(prepare.output));
      // Both module formats on the column's first Node line; ESM (what the READMEs show) on the others.
      for (const [index, node] of nodes.entries()) {
        for (const dir of index === 0 ? ['esm', 'cjs'] : ['esm']) {
          for (const s of snippets) {
            const file = join(app, dir, 'dist', `${s.name}.js`);
            const r = existsSync(file) ? runScript(node.node, file, app, local.env) : { ok: false, output: `${relative(app, file)} was not emitted` };
            checks.add(`${columnName}: Node ${node.version} ${dir === 'esm' ? 'ESM' : 'CommonJS'} runs ${s.source}:${s.line}`, r.ok, summary(r.output));
          }
        }
      }
    } finally {
      await local.stop();
    }
  } catch (err) {
    checks.add(`${columnName}: harness`, false, String(err?.stack ?? err));
  } finally {
    if (keep) console.log(`  app kept in ${app}`);
    removeApp();
    process.removeListener('exit', removeApp);
  }
  return checks.write({ versions, kyselyPostgresJs: kysePostgresJs, typescript: [ts59, tsLatest], nodes: nodes.map((n) => n.version) });
}

// Killed (CI's timeout, Ctrl+C): run the 'exit' handlers, which stop dsql-local's process group.
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(1));

const snippets = quickStartSnippets(root);
const packs = mkdtempSync(join(tmpdir(), 'dsql-packs-'));
let results = [];
try {
  const tarballs = packAll(packs);
  console.log(`packed: ${tarballs.map((t) => t.split('/').pop()).join(', ')}; ${snippets.length} quick-start blocks`);
  // A README whose quick start lost its heading or its ```ts fences would drop out unnoticed.
  const readmes = ['README.md', ...readdirSync(join(root, 'packages')).map((d) => `packages/${d}/README.md`)].filter((f) => existsSync(join(root, f)));
  const withQuickStart = readmes.filter((f) => /^## Quick start\b/im.test(readFileSync(join(root, f), 'utf8')));
  const empty = withQuickStart.filter((f) => !snippets.some((s) => s.source === f));
  const setup = new Checks('readmes');
  setup.add(`every README with a Quick start section has TypeScript blocks there (${withQuickStart.length} READMEs)`, empty.length === 0, `no \`\`\`ts block under "## Quick start" in ${empty.join(', ')}`);
  results.push(setup.write({}));
  for (const column of columnsArg) results.push(await runColumn(column, tarballs, snippets));
} catch (err) {
  const checks = new Checks('setup');
  checks.add('user apps: pack the published packages', false, String(err?.message ?? err));
  results.push(checks.write({}));
} finally {
  rmSync(packs, { recursive: true, force: true });
}
let passed = 0;
let failed = 0;
for (const r of results) {
  passed += r.passed;
  failed += r.failed;
  if (r.versions) console.log(`user apps ${r.name.replace('user-apps-', '')}: ${Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(', ')} — ${r.passed} passed, ${r.failed} failed`);
}
console.log(`user apps: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
