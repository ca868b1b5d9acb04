import { classifyError, isOccError, isTransientError, isConnectionLoss, CommitOutcomeUnknownError, DsqlConfigError, DsqlCredentialsError, DsqlUnsupportedError, DsqlConnectError, DsqlConnectionLostError, isDsqlError, SQLSTATE_MEANINGS } from '../src/index.js';
import { pgError, socketError } from './helpers.js';

describe('isOccError', () => {
  it.each([
    ['40001 code', pgError('40001', 'change conflicts with another transaction (OC000)')],
    ['40001 schema', pgError('40001', 'schema has been updated by another transaction (OC001)')],
    ['OC000 as code', Object.assign(new Error('conflict'), { code: 'OC000' })],
    ['OC001 in message only', new Error('mutation conflicts with another transaction, retry as needed (OC001)')],
    ['inside a cause chain', new Error('query failed', { cause: new Error('wrapped', { cause: pgError('40001', 'x') }) })],
    ['inside an AggregateError', new AggregateError([new Error('a'), pgError('40001', 'change conflicts (OC000)')], 'many')],
    ['sqlState field', Object.assign(new Error('x'), { sqlState: '40001' })],
    // Prisma's driver adapters: the server's SQLSTATE in `cause.originalCode` (interactive
    // transactions), or P2034 with the adapter error in `meta` (queries). Proven against real
    // Prisma in @dsql/pg's prisma.int.test.ts.
    ['Prisma DriverAdapterError', Object.assign(new Error('TransactionWriteConflict'), { name: 'DriverAdapterError', cause: { kind: 'TransactionWriteConflict', originalCode: '40001', originalMessage: 'change conflicts with another transaction (OC000)' } })],
    ['Prisma P2034', Object.assign(new Error('Transaction failed due to a write conflict or a deadlock. Please retry your transaction'), { code: 'P2034', meta: { driverAdapterError: { cause: { originalCode: '40001' } } } })],
    ['Prisma P2034 without meta', Object.assign(new Error('Transaction failed due to a write conflict or a deadlock.'), { code: 'P2034' })],
  ])('detects %s', (_name, err) => {
    expect(isOccError(err)).toBe(true);
    expect(classifyError(err).kind).toBe('occ-conflict');
    expect(classifyError(err).retryable).toBe(true);
  });

  it.each([
    ['a unique violation', pgError('23505', 'duplicate key value violates unique constraint')],
    ['OC0001 look-alike', new Error('code OC0001')],
    ['a string', 'OC000'],
    ['null', null],
    ['a lost commit wrapping an OCC error', new CommitOutcomeUnknownError({ cause: pgError('40001', 'x') })],
    ['a Prisma unique violation', Object.assign(new Error('Unique constraint failed'), { code: 'P2002', meta: { driverAdapterError: { cause: { originalCode: '23505', originalMessage: 'duplicate key value' } } } })],
  ])('rejects %s', (_name, err) => {
    expect(isOccError(err)).toBe(false);
  });

  it("reads a Prisma error's SQLSTATE from its adapter error, never its own P-code", () => {
    const err = Object.assign(new Error('Unique constraint failed'), { code: 'P2002', meta: { driverAdapterError: { cause: { originalCode: '23505', originalMessage: 'duplicate key value' } } } });
    expect(classifyError(err).sqlstate).toBe('23505');
    expect(classifyError(Object.assign(new Error('x'), { code: 'P1001' })).sqlstate).toBeUndefined();
  });

  it('survives cycles in cause chains', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(isOccError(a)).toBe(false);
  });
});

describe('isTransientError / classifyError', () => {
  it.each([
    ['ECONNRESET', socketError('ECONNRESET'), 'transient'],
    ['ECONNREFUSED', socketError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'), 'transient'],
    ['ETIMEDOUT', socketError('ETIMEDOUT'), 'transient'],
    ['EPIPE (five characters, not a SQLSTATE)', socketError('EPIPE'), 'transient'],
    ['pg connection terminated', new Error('Connection terminated unexpectedly'), 'transient'],
    ['pg connect timeout', new Error('timeout expired'), 'transient'],
    ['Postgres.js CONNECTION_CLOSED', Object.assign(new Error('write CONNECTION_CLOSED'), { code: 'CONNECTION_CLOSED' }), 'transient'],
    ['08006 without access denied', pgError('08006', 'connection failure'), 'transient'],
    ['57P01', pgError('57P01', 'terminating connection due to administrator command'), 'transient'],
    ['XX000 server unavailable', pgError('XX000', 'server unavailable'), 'transient'],
    ['waking up', Object.assign(new Error('unable to accept connection, waking up cluster, please retry later'), { severity: 'FATAL' }), 'transient'],
    ['53400', pgError('53400', 'Unable to accept connection, rate exceeded.'), 'rate-limited'],
    ['53300', pgError('53300', 'Unable to accept connection, too many open connections.'), 'too-many-connections'],
  ])('%s is transient (%s)', (_name, err, kind) => {
    expect(isTransientError(err)).toBe(true);
    expect(classifyError(err).kind).toBe(kind);
  });

  it.each([
    ['access denied 08006', pgError('08006', 'unable to accept connection, access denied', { severity: 'FATAL', hint: 'Signature expired: 20261124T130827Z is now earlier than 20261124T131000Z' }), 'access-denied'],
    ['wrong action', pgError('08006', 'Wrong user to action mapping. user: admin, action: DbConnect'), 'access-denied'],
    ['insufficient privilege', pgError('42501', 'permission denied for table t'), 'access-denied'],
    ['row limit', pgError('54000', 'transaction row limit exceeded'), 'limit-exceeded'],
    ['age limit', pgError('54000', 'transaction age limit of 300s exceeded'), 'limit-exceeded'],
    ['size limit in a message', new Error('transaction size limit 10mb exceeded'), 'limit-exceeded'],
    ['unsupported', pgError('0A000', 'unsupported transaction statement: SAVEPOINT'), 'unsupported'],
    ['aborted transaction', pgError('25P02', 'current transaction is aborted, commands ignored until end of transaction block'), 'transaction-aborted'],
    ['syntax error', pgError('42601', 'syntax error at or near "."'), 'other'],
    ['commit outcome unknown', new CommitOutcomeUnknownError({ cause: socketError('ECONNRESET') }), 'commit-outcome-unknown'],
    ['config', new DsqlConfigError('port', '0', 'a port'), 'config'],
    ['credentials', new DsqlCredentialsError('profile "x"', 'no'), 'credentials'],
    ['unsupported feature', new DsqlUnsupportedError('savepoints', 'no savepoints'), 'unsupported'],
    ['undefined', undefined, 'other'],
  ])('%s is not transient (%s)', (_name, err, kind) => {
    expect(isTransientError(err)).toBe(false);
    const c = classifyError(err);
    expect(c.kind).toBe(kind);
    expect(c.hint.length).toBeGreaterThan(10);
  });

  it('puts the server hint (redacted) into the classification', () => {
    const err = pgError('08006', 'unable to accept connection, access denied', { hint: 'bad token abc.dsql.us-east-1.on.aws/?Action=DbConnect&X-Amz-Signature=deadbeef' });
    const c = classifyError(err);
    expect(c.hint).toContain('Server hint: bad token [redacted]');
    expect(c.sqlstate).toBe('08006');
    expect(classifyError(new DsqlConnectError('access-denied', 'refused', { cause: err })).kind).toBe('access-denied');
  });

  it('prefers the most specific meaning anywhere in the chain', () => {
    const wrapped = new Error('connection failed', { cause: pgError('53400', 'rate exceeded') });
    expect(classifyError(wrapped).kind).toBe('rate-limited');
    expect(classifyError(new AggregateError([socketError('ECONNREFUSED'), pgError('40001', 'OC000')])).kind).toBe('occ-conflict');
    expect(SQLSTATE_MEANINGS['40001']!.kind).toBe('occ-conflict');
  });
});

describe('isConnectionLoss', () => {
  it('separates a dead connection from a server answer', () => {
    expect(isConnectionLoss(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionLoss(socketError('ECONNRESET'))).toBe(true);
    expect(isConnectionLoss(pgError('57P01', 'terminating connection'))).toBe(true);
    expect(isConnectionLoss(pgError('40001', 'change conflicts with another transaction (OC000)'))).toBe(false);
    expect(isConnectionLoss(pgError('XX000', 'server unavailable'))).toBe(false);
  });

  it('recognises DsqlConnectionLostError by its code, whatever its message says', () => {
    const lost = new DsqlConnectionLostError('gone', { cause: new Error('boom') });
    expect(isDsqlError(lost, 'connection-lost')).toBe(true);
    expect(isConnectionLoss(lost)).toBe(true);
    expect(isTransientError(lost)).toBe(true);
    expect(classifyError(lost)).toMatchObject({ kind: 'transient', retryable: true });
    // Wrapped by an ORM, still a loss; an OCC conflict in the same chain still decides the kind.
    expect(isConnectionLoss(new Error('query failed', { cause: lost }))).toBe(true);
    expect(isOccError(new AggregateError([lost, pgError('40001', 'OC000')]))).toBe(true);
  });
});
