import { runCli } from '../src/main.js';
import { dsql } from './support/cli.js';

/** The `export A=B C=D` lines dsql-local prints, as an environment (the token line left out). */
function exportsOf(banner: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of banner.split('\n')) {
    if (!line.startsWith('export ') || line.includes('$(')) continue;
    for (const pair of line.slice('export '.length).trim().split(/\s+/)) {
      const eq = pair.indexOf('=');
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

async function until(what: string, check: () => boolean, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('dsql local', () => {
  it("starts @dsql/local's dsql-local with its flags; dsql psql connects with what it prints; stops on SIGTERM", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const stop = new AbortController();
    const exited = runCli(['local', '--port', '0', '--region', 'us-west-2'], {
      out: (t) => out.push(t),
      err: (t) => err.push(t),
      env: process.env,
      cwd: process.cwd(),
      interactive: false,
      signal: stop.signal,
    });
    let code: number | undefined;
    void exited.then((c) => (code = c));
    try {
      await until('the dsql-local banner', () => out.join('\n').includes('Press Ctrl+C to stop.') || code !== undefined);
      const banner = out.join('\n');
      expect(banner).toContain('dsql-local: Aurora DSQL endpoint ready');
      expect(banner).toMatch(/region {4}us-west-2/);
      const env: Record<string, string | undefined> = { PATH: process.env['PATH'], ...exportsOf(banner) };
      expect(env['AWS_REGION']).toBe('us-west-2');
      const run = await dsql(['psql', '-XtA', '-c', 'SELECT current_user'], { env });
      expect(run.err).toBe('');
      expect(run).toMatchObject({ code: 0, out: 'admin' });
    } finally {
      stop.abort();
    }
    await until('dsql-local to exit after SIGTERM', () => code !== undefined, 60_000);
    expect(out.join('\n')).toContain('dsql-local: SIGTERM, stopping');
  }, 180_000);

  it("prints its help and dsql-local's options", async () => {
    const run = await dsql(['local', '--help']);
    expect(run.code).toBe(0);
    expect(run.out).toContain('Examples:');
    expect(run.out).toContain('--max-connections <n>');
  });
});
