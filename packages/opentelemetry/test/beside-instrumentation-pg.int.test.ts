import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDsqlLocal, type DsqlLocal } from '@dsql/local';

// DsqlInstrumentation beside @opentelemetry/instrumentation-pg, in a real CommonJS application
// process (require hooks need one; jest's module system has none): the driver's instrumentation
// keeps recording every statement exactly once, ours adds only dsql.* spans.
// @dsql/pg and @dsql/core are their builds (turbo builds a package's dependencies before its
// tests); the application (fixtures/beside-instrumentation-pg.ts, with this package's source) is
// bundled here with esbuild, its package imports left to node_modules.

const packageDir = fileURLToPath(new URL('..', import.meta.url));
let local: DsqlLocal;
let dir: string | undefined;
let app: string;
beforeAll(async () => {
  // Inside this package's node_modules, so the bundle's imports resolve to its own dependencies.
  dir = mkdtempSync(join(packageDir, 'node_modules', '.beside-pg-'));
  app = join(dir, 'app.cjs');
  const esbuild = join(dirname(createRequire(import.meta.url).resolve('esbuild/package.json')), 'bin', 'esbuild');
  execFileSync(esbuild, [
    join(packageDir, 'test', 'fixtures', 'beside-instrumentation-pg.ts'),
    '--bundle', '--platform=node', '--target=node20', '--packages=external', '--format=cjs', '--log-level=warning', `--outfile=${app}`,
  ]);
  local = await startDsqlLocal();
}, 60_000);
afterAll(async () => {
  await local?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function runChild(): Promise<Array<{ scope: string; name: string }>> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [app],
      { env: { ...process.env, NODE_OPTIONS: '', DSQL_OPTIONS: JSON.stringify(local.connectionOptions()) }, timeout: 30_000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`child failed: ${err.message}\n${stderr}`));
        resolve(stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { scope: string; name: string }));
      },
    );
  });
}

it('each statement is one instrumentation-pg span; DsqlInstrumentation adds dsql.transaction and dsql.connect only', async () => {
  const spans = await runChild();
  const ours = spans.filter((s) => s.scope === '@dsql/opentelemetry').map((s) => s.name);
  expect(ours.sort()).toEqual(['dsql.connect', 'dsql.transaction']);
  const queries = spans.filter((s) => s.scope === '@opentelemetry/instrumentation-pg' && s.name.startsWith('pg.query'));
  // SELECT 1, SELECT 2, and the transaction's BEGIN, SELECT 3, COMMIT: each once.
  expect(queries).toHaveLength(5);
  expect(spans.every((s) => s.scope === '@dsql/opentelemetry' || s.scope === '@opentelemetry/instrumentation-pg')).toBe(true);
  // One physical connection: pg's handshake span and ours (rate-limit wait, DSQL outcome) — one each.
  expect(spans.filter((s) => s.name === 'pg.connect')).toHaveLength(1);
  expect(spans.filter((s) => s.name === 'pg-pool.connect')).toHaveLength(3);
});
