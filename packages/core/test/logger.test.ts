import { createDsqlSession, runTransaction, isDsqlError, type DsqlLogger } from '../src/index.js';
import { CREDS, HOST, commitFailingDriver as driver, pgError } from './helpers.js';

/** A pino-shaped logger that records what it is told. */
function recordingLogger(): DsqlLogger & { lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> } {
  const lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => void lines.push({ level, fields, message });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

const occ = (): Error => pgError('40001', `change conflicts with another transaction (OC000) ${CREDS.secretAccessKey}`);

describe('logger option', () => {
  test('a failed attempt and a server-closed connection are warnings, a recycle is debug; names and kinds only', () => {
    const logger = recordingLogger();
    const session = createDsqlSession({ host: HOST, credentials: CREDS, logger });
    expect(session.logger).toBe(logger);
    // No diagnostics subscriber: the logger alone makes the probe record.
    const refused = session.probeConnectAttempt();
    refused.failed(pgError('08006', `unable to accept connection, access denied X-Amz-Signature=abc ${CREDS.secretAccessKey}`));
    const opened = session.probeConnectAttempt().succeeded();
    expect(opened).toBeDefined();
    opened!.closed('server_closed');
    session.probeConnectAttempt().succeeded()!.closed('lifetime');
    expect(logger.lines.map((l) => [l.level, l.fields.dsql])).toEqual([
      ['warn', expect.objectContaining({ endpoint: HOST, region: 'us-east-1', outcome: 'refused', reason: 'access-denied', sqlstate: '08006' })],
      ['warn', expect.objectContaining({ endpoint: HOST, reason: 'server_closed' })],
      ['debug', expect.objectContaining({ endpoint: HOST, reason: 'lifetime' })],
    ]);
    expect(logger.lines[1]!.message).toMatch(/closed by the server while idle/);
    const text = JSON.stringify(logger.lines);
    expect(text).not.toContain(CREDS.secretAccessKey);
    expect(text).not.toContain('X-Amz-Signature');
  });

  test("the session's retry logs each retried transaction attempt (info) and still calls the user's onRetry", async () => {
    const logger = recordingLogger();
    const retried: number[] = [];
    const session = createDsqlSession({ host: HOST, credentials: CREDS, logger, retry: { baseDelayMs: 0, maxDelayMs: 0, onRetry: ({ attempt }) => retried.push(attempt) } });
    await runTransaction(driver([occ(), occ()]), async () => 1, session.retry);
    expect(retried).toEqual([1, 2]);
    expect(logger.lines.map((l) => [l.level, (l.fields.dsql as { attempt: number; outcome: string }).attempt, (l.fields.dsql as { outcome: string }).outcome])).toEqual([
      ['info', 1, 'occ_conflict'],
      ['info', 2, 'occ_conflict'],
    ]);
    expect(JSON.stringify(logger.lines)).not.toContain(CREDS.secretAccessKey);
  });

  test('a logger that throws breaks nothing', async () => {
    const boom = (): never => {
      throw new Error('logger down');
    };
    const session = createDsqlSession({ host: HOST, credentials: CREDS, logger: { debug: boom, info: boom, warn: boom, error: boom }, retry: { baseDelayMs: 0, maxDelayMs: 0 } });
    await expect(runTransaction(driver([occ()]), async () => 'done', session.retry)).resolves.toBe('done');
    expect(() => session.probeConnectAttempt().failed(new Error('x'))).not.toThrow();
  });

  test('without a logger nothing changes; a bad logger is a DsqlConfigError naming the field and what is missing', () => {
    const session = createDsqlSession({ host: HOST, credentials: CREDS });
    expect(session.logger).toBeUndefined();
    expect(session.retry).toBe(createDsqlSession({ host: HOST, credentials: CREDS }).retry);
    let err: unknown;
    try {
      createDsqlSession({ host: HOST, credentials: CREDS, logger: { info: () => {} } as never });
    } catch (e) {
      err = e;
    }
    expect(isDsqlError(err, 'invalid-config')).toBe(true);
    expect((err as Error).message).toMatch(/logger/);
    expect((err as Error).message).toMatch(/missing: debug, warn, error/);
  });
});
