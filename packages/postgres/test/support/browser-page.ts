/**
 * The browser test's page script (test/browser/page.ts), bundled for the browser as the published
 * `@dsql/postgres/browser` is (browser-build.ts's plugins and injected globals), with `@dsql/core`
 * from source. The metafile lists every module that went in.
 */
import { fileURLToPath } from 'node:url';
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
