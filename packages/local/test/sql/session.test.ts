import { createDsqlRules, type SqlContext, type SqlSession } from '../../src/sql/index.js';

const rules = createDsqlRules();
beforeAll(() => rules.ready());

const simpleIdle: SqlContext = { protocol: 'simple', txStatus: 'I' };
const extended = (txStatus: SqlContext['txStatus']): SqlContext => ({ protocol: 'extended', txStatus });

describe('transaction rules', () => {
  let session: SqlSession;
  beforeEach(() => {
    session = rules.newSession();
  });

  it('allows one DDL per transaction and no DML with it (extended protocol, with parameters)', () => {
    expect(session.onSql('BEGIN', extended('I')).kind).toBe('forward');
    session.onReadyForQuery?.('T');
    expect(session.onSql('CREATE TABLE a (id int)', extended('T')).kind).toBe('forward');
    expect(session.onSql('INSERT INTO a (id) VALUES ($1)', extended('T'))).toEqual({
      kind: 'refuse',
      error: { code: '0A000', message: 'ddl and dml are not supported in the same transaction' },
    });
    expect(session.onSql('GRANT SELECT ON a TO r', extended('T'))).toMatchObject({
      error: { message: 'multiple ddl statements not supported in a transaction' },
    });
  });

  it('refuses DDL after DML, and starts over after COMMIT', () => {
    session.onSql('BEGIN', simpleIdle);
    session.onSql('UPDATE a SET id = 1', { protocol: 'simple', txStatus: 'T' });
    expect(session.onSql('CREATE TABLE b (id int)', { protocol: 'simple', txStatus: 'T' })).toMatchObject({
      error: { message: 'ddl and dml are not supported in the same transaction' },
    });
    session.onSql('COMMIT', { protocol: 'simple', txStatus: 'T' });
    session.onReadyForQuery?.('I');
    expect(session.onSql('CREATE TABLE b (id int)', simpleIdle).kind).toBe('forward');
  });

  it('treats autocommit statements as transactions of their own', () => {
    expect(session.onSql('CREATE TABLE a (id int)', simpleIdle).kind).toBe('forward');
    session.onReadyForQuery?.('I');
    expect(session.onSql('CREATE TABLE b (id int)', extended('I')).kind).toBe('forward');
    session.onReadyForQuery?.('I');
    expect(session.onSql('INSERT INTO b VALUES (1)', extended('I'))).toMatchObject({ kind: 'forward', writesRows: true });
  });

  it('lets PostgreSQL answer 25P02 in a failed transaction, even for refused statements', () => {
    expect(session.onSql('TRUNCATE a', extended('E'))).toEqual({ kind: 'forward' });
  });

  it('a multi-statement text that commits in the middle starts a new transaction', () => {
    expect(session.onSql('BEGIN; CREATE TABLE a (id int); COMMIT; INSERT INTO a VALUES (1)', simpleIdle).kind).toBe('forward');
    expect(session.onSql('CREATE TABLE a (id int); INSERT INTO a VALUES (1)', simpleIdle)).toMatchObject({
      error: { message: 'ddl and dml are not supported in the same transaction' },
    });
  });
});

describe('per-execution checks (named prepared statements)', () => {
  const checked = (txStatus: SqlContext['txStatus']): SqlContext => ({ protocol: 'extended', txStatus, executeChecked: true });

  it('applies the transaction rules at each Execute, not at Parse', () => {
    const session = rules.newSession();
    // Parsed once, outside any transaction: only the text is checked.
    expect(session.onSql('INSERT INTO a (id) VALUES ($1)', checked('I'))).toMatchObject({ kind: 'forward', writesRows: true });
    expect(session.onExecute?.('INSERT INTO a (id) VALUES ($1)', checked('I'))).toBeUndefined();
    session.onReadyForQuery?.('I');
    session.onSql('BEGIN', checked('I'));
    expect(session.onExecute?.('BEGIN', checked('I'))).toBeUndefined();
    session.onReadyForQuery?.('T');
    expect(session.onSql('CREATE TABLE b (id int)', checked('T')).kind).toBe('forward');
    expect(session.onExecute?.('CREATE TABLE b (id int)', checked('T'))).toBeUndefined();
    // Executed again later, with DDL before it in the same transaction.
    expect(session.onExecute?.('INSERT INTO a (id) VALUES ($1)', checked('T'))).toEqual({
      code: '0A000',
      message: 'ddl and dml are not supported in the same transaction',
    });
  });

  it('still refuses unsupported text at Parse, and does nothing without executeChecked', () => {
    const session = rules.newSession();
    expect(session.onSql('TRUNCATE a', checked('I')).kind).toBe('refuse');
    expect(session.onExecute?.('CREATE TABLE b (id int)', extended('T'))).toBeUndefined();
    expect(session.onExecute?.('CREATE TABLE c (id int)', extended('T'))).toBeUndefined();
  });
});

describe('pipelining', () => {
  const checked = (txStatus: SqlContext['txStatus']): SqlContext => ({ protocol: 'extended', txStatus, executeChecked: true });
  it('says how each text leaves the transaction', () => {
    const session = rules.newSession();
    expect(session.onSql('BEGIN', simpleIdle)).toMatchObject({ kind: 'forward', transaction: 'opens' });
    expect(session.onSql('COMMIT', { protocol: 'simple', txStatus: 'T' })).toMatchObject({ transaction: 'closes' });
    expect(session.onSql('BEGIN; SELECT 1; COMMIT', simpleIdle)).toMatchObject({ transaction: 'closes' });
    expect(session.onSql('ROLLBACK', extended('E'))).toMatchObject({ kind: 'forward', transaction: 'closes' });
    expect(session.onSql('SELECT 1', extended('E'))).toEqual({ kind: 'forward' });
    expect(session.onSql('BEGIN', extended('E'))).toMatchObject({ kind: 'forward', transaction: 'opens' });
    expect(session.onSql('SELECT 1', simpleIdle)).not.toHaveProperty('transaction');
  });

  it('keeps the counts of statements sent after a ReadyForQuery that ends an earlier transaction', () => {
    const session = rules.newSession();
    session.onSql('INSERT INTO a VALUES (1)', simpleIdle);
    session.onSql('BEGIN', simpleIdle);
    session.onSql('CREATE TABLE b (id int)', { protocol: 'simple', txStatus: 'T' });
    // The autocommit INSERT's answer arrives now, with the block's statements already sent.
    session.onReadyForQuery?.('I', true);
    expect(session.onSql('INSERT INTO b VALUES (1)', { protocol: 'simple', txStatus: 'T' })).toMatchObject({
      error: { message: 'ddl and dml are not supported in the same transaction' },
    });
  });

  it('starts a new implicit transaction at the first Execute of each batch outside a block', () => {
    const session = rules.newSession();
    const run = (sql: string, batchStart: boolean) => session.onExecute?.(sql, { ...checked('I'), batchStart });
    expect(run('CREATE TABLE a (id int)', true)).toBeUndefined();
    expect(run('INSERT INTO a VALUES (1)', true)).toBeUndefined();
    expect(run('CREATE TABLE b (id int)', false)?.message).toBe('ddl and dml are not supported in the same transaction');
  });
});

describe('row cap', () => {
  it('allows 3,000 modified rows per transaction and fails the statement that crosses it', () => {
    const session = rules.newSession();
    session.onSql('BEGIN', simpleIdle);
    session.onReadyForQuery?.('T');
    expect(session.onCommandComplete?.('INSERT 0 2999', extended('T'))).toBeUndefined();
    expect(session.onCommandComplete?.('DELETE 1', extended('T'))).toBeUndefined();
    expect(session.onCommandComplete?.('SELECT 5000', extended('T'))).toBeUndefined();
    expect(session.onCommandComplete?.('UPDATE 1', extended('T'))).toEqual({
      code: '54000',
      message: 'transaction row limit exceeded',
    });
  });

  it('counts each autocommit transaction on its own, and COPY only when it writes', () => {
    const session = rules.newSession();
    expect(session.onSql('COPY t TO STDOUT', simpleIdle)).toEqual({ kind: 'forward', writesRows: false });
    expect(session.onCommandComplete?.('COPY 5000', extended('I'))).toBeUndefined();
    session.onReadyForQuery?.('I');
    session.onSql('COPY t FROM STDIN', simpleIdle);
    expect(session.onCommandComplete?.('COPY 3001', extended('I'))?.code).toBe('54000');
    session.onReadyForQuery?.('I');
    session.onSql('INSERT INTO t SELECT 1', simpleIdle);
    expect(session.onCommandComplete?.('INSERT 0 3000', extended('I'))).toBeUndefined();
  });

  it('judges a COPY tag by the statement answered (ctx.writesRows), not by the last one sent', () => {
    const session = rules.newSession();
    session.onSql('COPY t TO STDOUT', simpleIdle);
    // Pipelined: a COPY FROM is sent before the COPY TO is answered.
    session.onSql('COPY t FROM STDIN', simpleIdle);
    expect(session.onCommandComplete?.('COPY 5000', { ...extended('I'), writesRows: false })).toBeUndefined();
    session.onReadyForQuery?.('I', true);
    expect(session.onCommandComplete?.('COPY 3001', { ...extended('I'), writesRows: true })?.code).toBe('54000');
  });

  it('honours a configured limit', () => {
    const session = createDsqlRules({ rowLimit: 10 }).newSession();
    expect(session.onCommandComplete?.('INSERT 0 11', extended('I'))?.message).toBe('transaction row limit exceeded');
  });
});
