// Module hooks that let a child `node` process run the workspace's TypeScript sources the way
// jest does (jest.preset.cjs): `@dsql/<package>[/<sub>]` resolves to `packages/<package>/src/…ts`,
// a relative `./x.js` import from a `.ts` file to `./x.ts`, and `.ts` files are compiled by swc
// with the same settings. So a child process exercises the source under test, never a stale build.
// Registered by register.mjs (`node --import …/register.mjs script.ts`).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { transformSync } from '@swc/core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WORKSPACE = /^@dsql\/(core|local|pg|postgres|kysely|drizzle)(?:\/(.+))?$/;

export async function resolve(specifier, context, next) {
  const workspace = WORKSPACE.exec(specifier);
  if (workspace) {
    const file = join(root, 'packages', workspace[1], 'src', `${workspace[2] ?? 'index'}.ts`);
    return { url: pathToFileURL(file).href, shortCircuit: true };
  }
  if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
    const url = new URL(`${specifier.slice(0, -3)}.ts`, context.parentURL);
    if (existsSync(fileURLToPath(url))) return { url: url.href, shortCircuit: true };
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const filename = fileURLToPath(url);
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  });
  return { format: 'module', source: code, shortCircuit: true };
}
