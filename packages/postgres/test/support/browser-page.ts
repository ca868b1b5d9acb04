/**
 * The browser test's page script, bundled two ways. `bundleForBrowser`: test/browser/page.ts with
 * `@dsql/postgres/browser` and `@dsql/core` from source, bundled as the published entry is built
 * (browser-build.ts's plugins and injected globals). `bundleBuiltPackagePage`: the same demos
 * against the built packages, bundled as a user's bundler would (plain esbuild, platform
 * 'browser', no plugin). The metafile lists every module that went in.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import { BROWSER_GLOBALS, dsqlPostgresBrowserPlugins } from '../../browser-build.js';

/** The bundled page script and its esbuild metafile. */
export interface PageBundle {
  code: string;
  metafile: esbuild.Metafile;
}

/** Bundles `entry` (default: the test page) for the browser. */
export async function bundleForBrowser(
  entry = fileURLToPath(new URL('../browser/page.ts', import.meta.url)),
  core: 'source' | 'package' = 'source',
): Promise<PageBundle> {
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: core === 'source' ? 'iife' : 'esm',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
    inject: [BROWSER_GLOBALS],
    plugins: await dsqlPostgresBrowserPlugins({ core }),
  });
  return { code: result.outputFiles[0]!.text, metafile: result.metafile };
}

/** Inputs of the bundle that are Node built-ins, and imports left external. */
export function nodeLeftovers(metafile: esbuild.Metafile, builtins: ReadonlySet<string>): { builtinInputs: string[]; external: string[] } {
  const inputs = Object.keys(metafile.inputs);
  return {
    builtinInputs: inputs.filter((path) => path.startsWith('node:') || builtins.has(path)),
    external: Object.values(metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path)),
  };
}

/** The packages directory of the workspace. */
const packagesDir = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Builds `@dsql/core/browser` and `@dsql/postgres/browser` with each package's own
 * tsup.browser.config.ts (the published build, without type declarations) into
 * `<app>/node_modules/@dsql/<name>/dist`, next to a copy of the package's package.json, so that
 * imports resolve through its `exports` as in a user's install.
 *
 * Built here rather than read from each package's dist/: in `pnpm test` turbo may be rebuilding a
 * package's dist/ (tsup cleans it first) while this package's tests run.
 */
async function installBuiltPackages(app: string): Promise<void> {
  const tsup = join(dirname(createRequire(import.meta.url).resolve('tsup/package.json')), 'dist', 'cli-default.js');
  await Promise.all(
    ['core', 'postgres'].map(async (name) => {
      const pkgDir = join(packagesDir, name);
      const installed = join(app, 'node_modules', '@dsql', name);
      mkdirSync(installed, { recursive: true });
      copyFileSync(join(pkgDir, 'package.json'), join(installed, 'package.json'));
      const args = [tsup, '--config', 'tsup.browser.config.ts', '--out-dir', join(installed, 'dist'), '--no-dts', '--silent'];
      try {
        await promisify(execFile)(process.execPath, args, { cwd: pkgDir, timeout: 120_000 });
      } catch (err) {
        const e = err as { message: string; stderr?: string; killed?: boolean };
        throw new Error(`building ${name}'s browser entry (tsup.browser.config.ts)${e.killed ? ' did not finish within 120 s' : ' failed'}: ${e.stderr || e.message}`);
      }
    }),
  );
}

/**
 * The test's demos (test/browser/demos.ts) with `import { dsql, transaction } from
 * '@dsql/postgres/browser'` resolved in an app where the built packages are installed, bundled
 * with plain esbuild for the browser: no plugin, no injected global, nothing but what a user's
 * bundler does. The temporary app is removed before this returns.
 */
export async function bundleBuiltPackagePage(): Promise<PageBundle> {
  const app = mkdtempSync(join(tmpdir(), 'dsql-browser-app-'));
  try {
    await installBuiltPackages(app);
    const demos = fileURLToPath(new URL('../browser/demos.ts', import.meta.url));
    writeFileSync(
      join(app, 'page.js'),
      `import { dsql, transaction } from '@dsql/postgres/browser';\nimport { installDemos } from ${JSON.stringify(demos)};\n\ninstallDemos({ dsql, transaction });\n`,
    );
    const result = await esbuild.build({
      absWorkingDir: app,
      entryPoints: ['page.js'],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      target: 'es2022',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    return { code: result.outputFiles[0]!.text, metafile: result.metafile };
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
}
