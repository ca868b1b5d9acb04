import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DsqlLocal } from '@dsql/local';
import { startLocal } from './support/local.js';

// Issue 22: a fleet of processes restarting together, each with its own connection rate limiter
// at the cluster's full rate, offers N times what the cluster admits; the excess is refused with
// 53400 and retried. With `connectRateLimit: { adaptive: true }` each process backs off on those
// answers and the fleet converges on the cluster's rate. Real processes, a real driver, one
// @dsql/local endpoint admitting 10 connections/s with a burst of 10; the endpoint counts refusals.

const PROCESSES = 6;
const CONNECTIONS = 8;
const RATE = { perSecond: 10, burst: 10 };
const REGISTER = new URL('../../../scripts/child-scenario/register.mjs', import.meta.url).href;
const MEMBER = fileURLToPath(new URL('./scenarios/fleet-member.ts', import.meta.url));

let local: DsqlLocal;
beforeAll(async () => {
  local = await startLocal({ connectRate: RATE });
}, 60_000);
afterAll(async () => {
  await local?.stop();
});

interface Member {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
}

function startMember(adaptive: boolean): Member {
  const child = spawn(process.execPath, ['--enable-source-maps', '--import', REGISTER, MEMBER], {
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      DSQL_FLEET_CONNECTIONS: String(CONNECTIONS),
      DSQL_FLEET_OPTIONS: JSON.stringify({ ...local.connectionOptions(), connectRateLimit: { ...RATE, adaptive } }),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const member: Member = { child, stdout: '', stderr: '', exited: new Promise((resolve) => child.once('close', resolve)) };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (member.stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (member.stderr += d));
  return member;
}

/** Polls `check` every 50 ms until it holds; fails after `ms`, saying what was awaited. */
async function waitFor(what: string, check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts the fleet, releases it at once when every member is ready, and counts the endpoint's refusals. */
async function storm(adaptive: boolean): Promise<{ refused: number; connected: number[] }> {
  const members = Array.from({ length: PROCESSES }, () => startMember(adaptive));
  try {
    await waitFor('every fleet member to print READY', () => members.every((m) => m.stdout.includes('READY')), 60_000);
    const before = local.stats();
    for (const m of members) m.child.stdin!.end('GO\n');
    const codes = await Promise.race([
      Promise.all(members.map((m) => m.exited)),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`the fleet did not finish within 90 s: ${JSON.stringify(members.map((m) => ({ stdout: m.stdout, stderr: m.stderr.slice(-500) })))}`)), 90_000).unref(),
      ),
    ]);
    const after = local.stats();
    for (const [i, m] of members.entries()) expect({ member: i, code: codes[i], stderr: m.stderr }).toEqual({ member: i, code: 0, stderr: '' });
    if (process.env.DSQL_FLEET_DEBUG) for (const m of members) process.stdout.write(m.stdout);
    const connected = members.map((m) => (JSON.parse(/^RESULT (.*)$/m.exec(m.stdout)![1]!) as { connected: number }).connected);
    return { refused: after.rateLimited - before.rateLimited, connected };
  } finally {
    for (const m of members) if (m.child.exitCode === null) m.child.kill('SIGKILL');
  }
}

describe(`fleet storm: ${PROCESSES} processes × ${CONNECTIONS} connections started together, endpoint admitting ${RATE.perSecond}/s, burst ${RATE.burst}`, () => {
  it('adaptive limiters are refused far less often than fixed ones, and every connection opens', async () => {
    const fixed = await storm(false);
    // Let the endpoint's bucket refill (burst / rate = 1 s) so both fleets meet the same cluster.
    await new Promise((r) => setTimeout(r, 1500));
    const adaptive = await storm(true);
    expect(fixed.connected).toEqual(Array(PROCESSES).fill(CONNECTIONS));
    expect(adaptive.connected).toEqual(Array(PROCESSES).fill(CONNECTIONS));
    process.stdout.write(`fleet storm: fixed ${fixed.refused} refused, adaptive ${adaptive.refused} refused (of ${PROCESSES * CONNECTIONS} connections)\n`);
    // The fixed fleet's first wave alone offers 32 connections to a bucket of 10.
    expect(fixed.refused).toBeGreaterThanOrEqual(15);
    // Generous margin: measured several times fewer; a no-op "adaptive" limiter would be refused as often.
    expect(adaptive.refused * 2).toBeLessThanOrEqual(fixed.refused);
  }, 240_000);
});
