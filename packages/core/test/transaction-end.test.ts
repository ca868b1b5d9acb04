/**
 * The pieces of core's transaction folder every adapter uses besides runTransaction: the COMMIT
 * outcome decision, the driver-run runner, the refusals and the nested-transaction guard.
 */
import {
  CommitOutcomeUnknownError,
  ConnectionTransaction,
  beginStatement,
  transactionStatements,
  DsqlConnectionLostError,
  DsqlTransactionRolledBackError,
  DsqlUnsupportedError,
  NestedTransactionGuard,
  assertNoSavepointStatement,
  nestedTransactionHandleError,
  assertRepeatableRead,
  isInTransactionScope,
  resolveDetectNestedTransactions,
  runTransaction,
  runManagedTransaction,
  savepointError,
} from '../src/index.js';
import { commitFailure, sendCommit, sendRollback, serverAnswered } from '../src/transaction/commit-outcome.js';
import { pgError, socketError } from './helpers.js';

const occ = (): Error => pgError('40001', 'change conflicts with another transaction (OC000)');
const noSleep = { sleep: async () => {} };

describe('the COMMIT outcome', () => {
  it('a server answer is thrown as it is; a lost answer becomes CommitOutcomeUnknownError', () => {
    expect(serverAnswered(occ())).toBe(true);
    expect(commitFailure(occ())).toBeInstanceOf(Error);
    expect(commitFailure(occ())).not.toBeInstanceOf(CommitOutcomeUnknownError);
    const lost = socketError('ECONNRESET');
    expect(serverAnswered(lost)).toBe(false);
    const unknown = commitFailure(lost) as CommitOutcomeUnknownError;
    expect(unknown).toBeInstanceOf(CommitOutcomeUnknownError);
    expect(unknown.cause).toBe(lost);
    // A wrapped server answer (an ORM's query error) is still an answer; a wrapped loss is not.
    expect(serverAnswered(new Error('Failed query: commit', { cause: occ() }))).toBe(true);
    expect(serverAnswered(new Error('Failed query: commit', { cause: lost }))).toBe(false);
    // A server "connection failure" class (57P01 admin shutdown) is no answer to the COMMIT.
    expect(serverAnswered(pgError('57P01', 'terminating connection due to administrator command'))).toBe(false);
  });

  it("this package's own decisions pass unchanged (a COMMIT never sent on a lost connection is not unknown)", () => {
    const notSent = new DsqlConnectionLostError('Connection lost: the statement was not sent.');
    expect(commitFailure(notSent)).toBe(notSent);
    const rolledBack = new DsqlTransactionRolledBackError();
    expect(commitFailure(rolledBack)).toBe(rolledBack);
  });

  it('sendCommit: a ROLLBACK tag is DsqlTransactionRolledBackError; sendRollback never throws and says when to discard', async () => {
    await expect(sendCommit(async () => ({ command: 'ROLLBACK' }), (r) => r.command)).rejects.toBeInstanceOf(DsqlTransactionRolledBackError);
    await expect(sendCommit(async () => ({ command: 'COMMIT' }), (r) => r.command)).resolves.toEqual({ command: 'COMMIT' });
    await expect(sendCommit(() => Promise.reject(socketError('EPIPE')), () => undefined)).rejects.toBeInstanceOf(CommitOutcomeUnknownError);
    await expect(sendRollback(() => Promise.reject(socketError('EPIPE')))).resolves.toBe(true);
    await expect(sendRollback(async () => undefined)).resolves.toBe(false);
  });
});

describe('runTransaction: the connection after COMMIT', () => {
  async function commitFailingWith(err: Error): Promise<{ thrown: unknown; destroyed: boolean }> {
    let destroyed = false;
    const thrown = await runTransaction(
      {
        connect: async () => 1,
        begin: async () => undefined,
        commit: () => Promise.reject(err),
        rollback: async () => undefined,
        release: (_c, destroy) => void (destroyed = destroy),
      },
      async () => 'x',
      false,
    ).catch((e: unknown) => e);
    return { thrown, destroyed };
  }

  it('a COMMIT never sent on a lost connection: that error, connection discarded; a server answer: kept', async () => {
    const notSent = new DsqlConnectionLostError('Connection lost: the statement was not sent.');
    expect(await commitFailingWith(notSent)).toEqual({ thrown: notSent, destroyed: true });
    const answer = occ();
    expect(await commitFailingWith(answer)).toEqual({ thrown: answer, destroyed: false });
    const lost = await commitFailingWith(socketError('ECONNRESET'));
    expect(lost.thrown).toBeInstanceOf(CommitOutcomeUnknownError);
    expect(lost.destroyed).toBe(true);
  });
});

describe('ConnectionTransaction: one connection, step by step (as a Kysely driver drives it)', () => {
  /** A connection that records what it is sent and answers from a script (the class under test decides). */
  function connection(answers: Record<string, unknown> = {}) {
    const sent: string[] = [];
    const statements = transactionStatements(async (_c: null, sql: string) => {
      sent.push(sql);
      const answer = answers[sql];
      if (answer instanceof Error) throw answer;
      return (answer as string | undefined) ?? sql.toUpperCase();
    });
    return { sent, tx: new ConnectionTransaction(statements, null) };
  }

  it('sends begin (the access mode on the opening statement), commit, rollback; reusable for the next transaction', async () => {
    expect(beginStatement()).toBe('begin');
    const { sent, tx } = connection();
    await tx.begin('read only');
    expect(tx.open).toBe(true);
    await tx.commit();
    expect(tx.open).toBe(false);
    await tx.rollback(); // after a COMMIT attempt: nothing to roll back
    await tx.begin();
    await tx.rollback();
    expect(sent).toEqual(['start transaction read only', 'commit', 'begin', 'rollback']);
    expect(tx.discard).toBe(false);
  });

  it('COMMIT: a lost answer is CommitOutcomeUnknownError and discards; a ROLLBACK tag is DsqlTransactionRolledBackError; a server answer is kept', async () => {
    const lost = connection({ commit: socketError('ECONNRESET') });
    await lost.tx.begin();
    await expect(lost.tx.commit()).rejects.toBeInstanceOf(CommitOutcomeUnknownError);
    expect(lost.tx.discard).toBe(true);
    const rolledBack = connection({ commit: 'ROLLBACK' });
    await rolledBack.tx.begin();
    await expect(rolledBack.tx.commit()).rejects.toBeInstanceOf(DsqlTransactionRolledBackError);
    expect(rolledBack.tx.discard).toBe(false);
    const answer = occ();
    const conflict = connection({ commit: answer });
    await conflict.tx.begin();
    await expect(conflict.tx.commit()).rejects.toBe(answer);
    expect(conflict.tx.discard).toBe(false);
  });

  it('a connection reported lost: COMMIT is not sent (the loss is the answer), no ROLLBACK either; a failed ROLLBACK discards', async () => {
    const { sent, tx } = connection();
    await tx.begin();
    const loss = socketError('ECONNRESET');
    tx.connectionLost(loss);
    expect([tx.lostWith, tx.discard]).toEqual([loss, true]);
    await expect(tx.commit()).rejects.toBe(loss);
    await tx.rollback();
    expect(sent).toEqual(['begin']);
    const failing = connection({ rollback: socketError('EPIPE') });
    await failing.tx.begin();
    await expect(failing.tx.rollback()).resolves.toBeUndefined();
    expect(failing.tx.discard).toBe(true);
  });
});

describe('runManagedTransaction', () => {
  it('retries an OCC conflict; a failure after commitSent() without an answer is CommitOutcomeUnknownError, never retried', async () => {
    let runs = 0;
    const value = await runManagedTransaction(async ({ attempt, commitSent }) => {
      runs++;
      commitSent();
      if (attempt === 1) throw occ(); // the server answered COMMIT with 40001
      return attempt;
    }, noSleep);
    expect([value, runs]).toEqual([2, 2]);

    runs = 0;
    const lost = socketError('ECONNRESET');
    const err = await runManagedTransaction(async ({ commitSent }) => {
      runs++;
      commitSent();
      throw lost;
    }, noSleep).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommitOutcomeUnknownError);
    expect((err as Error).cause).toBe(lost);
    expect(runs).toBe(1);
  });

  it('a connection lost before COMMIT was sent is retried (transient); retry false runs once', async () => {
    let runs = 0;
    await runManagedTransaction(async ({ attempt }) => {
      runs++;
      if (attempt === 1) throw socketError('ECONNRESET');
    }, noSleep);
    expect(runs).toBe(2);
    runs = 0;
    await expect(runManagedTransaction(() => (runs++, Promise.reject(occ())), false)).rejects.toMatchObject({ code: '40001' });
    expect(runs).toBe(1);
  });

  it('refuses invalid retry options naming the field', async () => {
    expect(() => runManagedTransaction(async () => 1, { maxAttempts: 0 })).toThrow(/retry\.maxAttempts/);
  });
});

describe('refusals', () => {
  it('isolation levels other than repeatable read, in any spelling', () => {
    expect(() => assertRepeatableRead(undefined, 'x', '')).not.toThrow();
    expect(() => assertRepeatableRead('Repeatable  Read', 'x', '')).not.toThrow();
    let caught: unknown;
    try {
      assertRepeatableRead('serializable', "db.transaction(fn, { isolationLevel: 'serializable' })", 'Drop isolationLevel.');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DsqlUnsupportedError);
    expect(caught).toMatchObject({ feature: 'isolation levels' });
    expect((caught as Error).message).toMatch(/^db\.transaction\(fn, \{ isolationLevel: 'serializable' \}\): .*REPEATABLE READ.*"serializable".*Drop isolationLevel\.$/);
  });

  it('savepoints: statements by their first keyword, methods by name', () => {
    expect(() => assertNoSavepointStatement('/* c */ -- x\n  rollback   to s')).toThrow(/^ROLLBACK TO is not supported by Aurora DSQL/);
    expect(() => assertNoSavepointStatement("select 'SAVEPOINT'")).not.toThrow();
    const err = savepointError('tx.begin()', 'Postgres.js runs it as a SAVEPOINT');
    expect(err).toMatchObject({ feature: 'savepoints' });
    expect(err.message).toMatch(/^tx\.begin\(\) is not supported by Aurora DSQL \(Postgres\.js runs it as a SAVEPOINT\): it has no SAVEPOINT/);
  });
});

describe('nestedTransactionHandleError', () => {
  it("names the function and what it was handed; feature 'nested transactions'", () => {
    const err = nestedTransactionHandleError('transaction()', 'a transaction');
    expect(err).toBeInstanceOf(DsqlUnsupportedError);
    expect(err).toMatchObject({ feature: 'nested transactions' });
    expect(err.message).toMatch(/^transaction\(\) was called with a transaction; Aurora DSQL has no nested transactions or savepoints\. /);
  });
});

describe('NestedTransactionGuard', () => {
  it('refuses inside a running callback of the same owner only; an owner known later; off when undefined', async () => {
    const pool = {};
    const guard = new NestedTransactionGuard(pool, { callback: 'a transaction() callback', owner: 'pool' });
    let later: object | undefined;
    const lazy = NestedTransactionGuard.lazy(() => later, { callback: 'a transaction callback', owner: 'sql' });
    const off = new NestedTransactionGuard(undefined, { callback: 'a transaction callback', owner: 'pool' });
    expect(guard.refusal('pool.transaction()')).toBeUndefined();
    await guard.run(async () => {
      expect(isInTransactionScope(pool)).toBe(true);
      expect(() => guard.assert('pool.transaction()')).toThrow(/^pool\.transaction\(\) was called inside a transaction\(\) callback of the same pool\./);
      expect(off.refusal('x')).toBeUndefined();
      expect(lazy.refusal('x')).toBeUndefined();
      later = pool;
      expect(lazy.refusal('sql.begin()')?.message).toMatch(/^sql\.begin\(\) was called inside a transaction callback of the same sql\./);
      later = undefined;
    });
    expect(guard.refusal('pool.transaction()')).toBeUndefined();
    await expect(off.run(() => 7)).resolves.toBe(7);
  });

  it('detectNestedTransactions: true by default, a boolean, else a DsqlConfigError naming field and value', () => {
    expect(resolveDetectNestedTransactions(undefined)).toBe(true);
    expect(resolveDetectNestedTransactions(false)).toBe(false);
    expect(() => resolveDetectNestedTransactions('no')).toThrow('Invalid detectNestedTransactions: got "no"; expected true or false.');
  });
});
