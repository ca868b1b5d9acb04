/**
 * `@dsql/cli`: the `dsql` command. Programs can run it in-process with {@link runCli}.
 *
 * @example
 * import { runCli } from '@dsql/cli';
 *
 * const code = await runCli(['lint', 'migrations'], { out: console.log, err: console.error, env: process.env, cwd: process.cwd(), interactive: false });
 */
export { runCli, HELP } from './main.js';
export type { CliIo } from './io.js';
