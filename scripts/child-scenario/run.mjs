// Parent side: runs a workspace TypeScript script in a child `node` process (see hooks.mjs) and
// collects what it printed. A test asserts on the exit code, so a crash (an uncaught exception,
// an unhandled 'error' event) in the child is visible as such — which an in-process test cannot
// show faithfully, since jest installs its own handlers.
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';

const REGISTER = new URL('./register.mjs', import.meta.url).href;

export async function runScript(script, { env = {}, timeoutMs = 60_000 } = {}) {
  const child = spawn(process.execPath, ['--enable-source-maps', '--import', REGISTER, script], {
    cwd: dirname(script),
    // jest's NODE_OPTIONS (--experimental-vm-modules --no-warnings) would hide process warnings.
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const [code, signal] = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, s) => resolve([c, s]));
  });
  clearTimeout(timer);
  const results = {};
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('RESULT ')) continue;
    const { scenario, ...rest } = JSON.parse(line.slice('RESULT '.length));
    results[scenario] = rest;
  }
  return { code, signal, timedOut, stdout, stderr, results, done: /^DONE$/m.test(stdout) };
}

/** How many times the child printed the process warning with this code. */
export function warningCount(stderr, code) {
  return stderr.split('\n').filter((l) => l.includes(`[${code}]`)).length;
}

/** The environment connection-loss.mjs reads: the upstream of a running @dsql/local, its identity, the scenarios to run. */
export function scenarioEnv(local, scenarios) {
  return {
    DSQL_SCENARIO_UPSTREAM: local.upstreamUrl,
    DSQL_SCENARIO_CREDENTIALS: JSON.stringify(local.credentials),
    ...(scenarios ? { DSQL_SCENARIOS: scenarios.join(',') } : {}),
  };
}
