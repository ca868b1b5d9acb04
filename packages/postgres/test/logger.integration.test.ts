import postgres from 'postgres';
import type { DsqlLocal } from '@dsql/local';
import type { DsqlLogger } from '@dsql/core';
import { dsql, transaction } from '../src/index.js';
import { withLocal } from './support/local.js';

// The `logger` option on dsql(): what the library decides on its own reaches the application's
// logger (through core's session), against a real endpoint; no secret is logged.

let local: DsqlLocal;
withLocal((started) => (local = started));

type Line = { level: string; fields: Record<string, unknown>; message: string };
function recordingLogger(): DsqlLogger & { lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => void lines.push({ level, fields, message });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

async function until(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  for (const deadline = Date.now() + ms; !check(); ) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

it('logs a refused attempt, a retried transaction and a server-closed idle connection', async () => {
  const logger = recordingLogger();
  const sql = dsql({ ...local.connectionOptions(), max: 1, logger, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
  const upstream = postgres(local.upstreamUrl, { max: 1, onnotice: () => {} });
  try {
    local.inject({ on: 'connect', error: { code: '53300', message: 'Unable to accept connection, too many open connections.' } });
    const [{ pid }] = (await sql`select pg_backend_pid() as pid`) as unknown as [{ pid: number }];
    local.inject({ on: 'commit', error: { code: '40001', message: 'change conflicts with another transaction, please retry: (OC000)' } });
    await transaction(sql, (tx) => tx`select 1`);
    await upstream`select pg_terminate_backend(${pid}::int)`;
    await until(() => logger.lines.some((l) => (l.fields.dsql as { reason?: string }).reason === 'server_closed'), 'the server-closed connection to be logged');

    const summary = logger.lines.map((l) => [l.level, (l.fields.dsql as { outcome?: string; reason?: string }).outcome ?? (l.fields.dsql as { reason?: string }).reason]);
    expect(summary).toEqual([
      ['warn', 'refused'],
      ['info', 'occ_conflict'],
      ['warn', 'server_closed'],
    ]);
    expect(logger.lines[0]!.fields.dsql).toMatchObject({ endpoint: local.host, reason: 'too-many-connections', sqlstate: '53300' });
    const text = JSON.stringify(logger.lines);
    expect(text).not.toContain(local.credentials.secretAccessKey);
    expect(text).not.toContain('X-Amz-');
  } finally {
    await upstream.end({ timeout: 5 });
    await sql.end({ timeout: 5 });
  }
});
