import { runTransaction, isCommitOutcomeUnknownError, isDsqlError, type TransactionDriver } from '../src/index.js';
import { pgError, socketError } from './helpers.js';

/**
 * A scripted driver: records the statements it is asked to run and fails where told. It stands in
 * for an adapter (pg, Postgres.js); runTransaction is the thing under test.
 */
function scripted(script: { begin?: unknown[]; commit?: (unknown | string)[]; rollback?: unknown[] } = {}) {
  const log: string[] = [];
  let conn = 0;
  const next = (list: unknown[] | undefined): unknown => list?.shift();
  const driver: TransactionDriver<number> = {
    connect: async () => {
      log.push(`connect#${++conn}`);
      return conn;
    },
    begin: async (c) => {
      log.push(`BEGIN#${c}`);
      const e = next(script.begin);
      if (e) throw e;
    },
    commit: async (c) => {
      log.push(`COMMIT#${c}`);
      const r = next(script.commit);
      if (r instanceof Error) throw r;
      return (r as string | undefined) ?? 'COMMIT';
    },
    rollback: async (c) => {
      log.push(`ROLLBACK#${c}`);
      const e = next(script.rollback);
      if (e) throw e;
    },
    release: async (c, destroy) => {
      log.push(`release#${c}${destroy ? ' destroy' : ''}`);
    },
  };
  return { driver, log };
}

const occ = (): Error => pgError('40001', 'change conflicts with another transaction (OC000)');
const fast = { sleep: async () => {}, random: () => 0 };

describe('runTransaction', () => {
  it('runs begin → fn → commit → release and returns the result', async () => {
    const { driver, log } = scripted();
    await expect(runTransaction(driver, async (c, attempt) => `${c}/${attempt}`)).resolves.toBe('1/1');
    expect(log).toEqual(['connect#1', 'BEGIN#1', 'COMMIT#1', 'release#1']);
  });

  it('retries the whole transaction on an OCC conflict at COMMIT, on a fresh connection', async () => {
    const { driver, log } = scripted({ commit: [occ(), occ()] });
    const attempts: number[] = [];
    const result = await runTransaction(driver, async (_c, attempt) => (attempts.push(attempt), attempt), fast);
    expect(result).toBe(3);
    expect(attempts).toEqual([1, 2, 3]);
    // The server ended the failed transactions itself: no ROLLBACK, connections reused.
    expect(log).toEqual(['connect#1', 'BEGIN#1', 'COMMIT#1', 'release#1', 'connect#2', 'BEGIN#2', 'COMMIT#2', 'release#2', 'connect#3', 'BEGIN#3', 'COMMIT#3', 'release#3']);
  });

  it('rolls back when fn throws, and retries an OCC error raised inside fn', async () => {
    const { driver, log } = scripted();
    let n = 0;
    await expect(runTransaction(driver, async () => { if (++n === 1) throw occ(); return 'ok'; }, fast)).resolves.toBe('ok');
    expect(log.slice(0, 4)).toEqual(['connect#1', 'BEGIN#1', 'ROLLBACK#1', 'release#1']);
  });

  it('does not retry with retry: false, nor ordinary errors', async () => {
    const a = scripted({ commit: [occ()] });
    const once = await runTransaction(a.driver, async () => 1, false).catch((e: unknown) => e);
    expect([(once as { code: string }).code, (once as { attempts?: number }).attempts]).toEqual(['40001', undefined]);
    const b = scripted();
    const bad = pgError('23505', 'duplicate key');
    await expect(runTransaction(b.driver, async () => { throw bad; }, fast)).rejects.toBe(bad);
    expect(b.log).toEqual(['connect#1', 'BEGIN#1', 'ROLLBACK#1', 'release#1']);
  });

  it('reports a connection whose ROLLBACK failed for destruction', async () => {
    const { driver, log } = scripted({ rollback: [socketError('ECONNRESET')] });
    const bad = new Error('app bug');
    await expect(runTransaction(driver, async () => { throw bad; })).rejects.toBe(bad);
    expect(log).toEqual(['connect#1', 'BEGIN#1', 'ROLLBACK#1', 'release#1 destroy']);
  });

  it('turns a connection loss during COMMIT into CommitOutcomeUnknownError and never retries it', async () => {
    for (const lost of [new Error('Connection terminated unexpectedly'), socketError('ECONNRESET'), pgError('57P01', 'terminating connection due to administrator command')]) {
      const { driver, log } = scripted({ commit: [lost] });
      let calls = 0;
      const err = await runTransaction(driver, async () => ++calls, { ...fast, retryOn: () => true }).catch((e: unknown) => e);
      expect(isCommitOutcomeUnknownError(err)).toBe(true);
      expect((err as Error).cause).toBe(lost);
      expect(calls).toBe(1);
      expect(log).toEqual(['connect#1', 'BEGIN#1', 'COMMIT#1', 'release#1 destroy']);
    }
  });

  it('retries a connection lost before COMMIT (nothing was committed)', async () => {
    const { driver, log } = scripted({ begin: [socketError('ECONNRESET')] });
    await expect(runTransaction(driver, async () => 'ok', fast)).resolves.toBe('ok');
    expect(log).toEqual(['connect#1', 'BEGIN#1', 'ROLLBACK#1', 'release#1', 'connect#2', 'BEGIN#2', 'COMMIT#2', 'release#2']);
  });

  it('fails loudly when COMMIT answers ROLLBACK (an error was swallowed in fn)', async () => {
    const { driver } = scripted({ commit: ['ROLLBACK'] });
    const err = await runTransaction(driver, async () => 1, fast).catch((e: unknown) => e);
    expect(isDsqlError(err, 'transaction-rolled-back')).toBe(true);
  });

  it('does not let a failing release replace the outcome', async () => {
    const { driver } = scripted();
    driver.release = async () => {
      throw new Error('pool closed');
    };
    await expect(runTransaction(driver, async () => 'kept')).resolves.toBe('kept');
  });
});
