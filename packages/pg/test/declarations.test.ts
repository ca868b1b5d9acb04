import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The published declarations must compile for a CommonJS TypeScript consumer without
// esModuleInterop: a default import of pg (or of a Node built-in) in them fails there with
// TS1192 "has no default export", and DsqlPool loses pg's methods.
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');

const CONSUMER = `
import { DsqlPool, DsqlClient } from './decl/index';
export async function main(): Promise<number> {
  const pool = new DsqlPool({ host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws', max: 2 });
  const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
  const client = new DsqlClient({ host: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws' });
  await client.end();
  await pool.end();
  return rows[0]!.one;
}
`;

it('declarations compile for a CommonJS consumer without esModuleInterop', () => {
  // Inside the package, so the consumer resolves pg's and core's types as an installed app would.
  const dir = mkdtempSync(join(root, '.tmp-declarations-'));
  try {
    execFileSync(process.execPath, [
      tsc, join(root, 'src', 'index.ts'), '--declaration', '--emitDeclarationOnly', '--outDir', join(dir, 'decl'),
      '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--strict', '--skipLibCheck',
      '--esModuleInterop', '--verbatimModuleSyntax', '--types', 'node',
    ], { stdio: 'pipe' });
    writeFileSync(join(dir, 'consumer.ts'), CONSUMER);
    const compile = (): string =>
      execFileSync(process.execPath, [
        tsc, join(dir, 'consumer.ts'), '--noEmit', '--module', 'commonjs', '--moduleResolution', 'node10',
        '--target', 'es2022', '--strict', '--types', 'node',
      ], { encoding: 'utf8', stdio: 'pipe' });
    let output = '';
    try {
      output = compile();
    } catch (err) {
      output = String((err as { stdout?: string }).stdout ?? err);
    }
    expect(output).toBe('');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
