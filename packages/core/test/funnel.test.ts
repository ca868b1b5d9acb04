import { inspect } from 'node:util';
import { classifyError, classifyInPlace, CommitOutcomeUnknownError, DsqlConnectError, DsqlUnsupportedError, isOccError, isTransientError, type ClassifiedError } from '../src/index.js';
import { HOST, pgError, socketError } from './helpers.js';

const CONTEXT = { host: HOST, tokenHost: HOST, region: 'us-east-1', user: 'admin', admin: true };
const TOKEN = `${HOST}/?Action=DbConnectAdmin&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261124%2Fus-east-1%2Fdsql%2Faws4_request&X-Amz-Signature=${'ab'.repeat(32)}`;

describe('classifyInPlace (the error funnel)', () => {
  it('adds err.dsql = classifyError(err) to the same object, keeping class and fields', () => {
    const err = pgError('54000', 'transaction row limit exceeded', { detail: 'rows' });
    const out = classifyInPlace(err);
    expect(out).toBe(err);
    expect(out).toBeInstanceOf(Error);
    expect(out).toMatchObject({ code: '54000', detail: 'rows' });
    expect((out as ClassifiedError).dsql).toEqual(classifyError(pgError('54000', 'transaction row limit exceeded')));
    expect((out as ClassifiedError).dsql).toMatchObject({ kind: 'limit-exceeded', retryable: false, sqlstate: '54000' });
    expect(Object.isFrozen((out as ClassifiedError).dsql)).toBe(true);
  });

  it('makes dsql an own enumerable property (logged with the error)', () => {
    const err = classifyInPlace(pgError('0A000', 'unsupported statement'));
    expect(Object.keys(err)).toContain('dsql');
    expect(inspect(err)).toContain("kind: 'unsupported'");
  });

  it('keeps the classification an error already carries', () => {
    const err = classifyInPlace(pgError('40001', 'change conflicts with another transaction (OC000)'));
    const first = (err as ClassifiedError).dsql;
    (err as Error & { code: string }).code = '42601';
    expect((classifyInPlace(err) as ClassifiedError).dsql).toBe(first);
  });

  it('classifies errors adapters raise themselves (DsqlError subclasses) the same way', () => {
    const lost = classifyInPlace(new CommitOutcomeUnknownError({ cause: socketError('ECONNRESET') })) as ClassifiedError<CommitOutcomeUnknownError>;
    expect(lost.dsql).toMatchObject({ kind: 'commit-outcome-unknown', retryable: false });
    const refused = classifyInPlace(new DsqlUnsupportedError('savepoints', 'no SAVEPOINT on DSQL')) as ClassifiedError<DsqlUnsupportedError>;
    expect(refused.dsql).toMatchObject({ kind: 'unsupported', retryable: false });
  });

  it("with a connect context, a refused connection's hint is the next step for that connection", () => {
    const err = pgError('08006', 'unable to accept connection, access denied', { severity: 'FATAL', hint: 'Wrong user to action mapping. user: admin, action: DbConnect' });
    classifyInPlace(err); // as a driver listener would, before the connect exit
    const out = classifyInPlace(err, CONTEXT) as ClassifiedError;
    expect(out.dsql.kind).toBe('access-denied');
    expect(out.dsql.hint).toMatch(/DbConnectAdmin/);
    expect(out.dsql.hint).toMatch(/was sent a DbConnectAdmin token|admin option/);
  });

  it("gives a wrapped refusal the server's SQLSTATE (a DsqlConnectError explaining pg's or Postgres.js's error)", () => {
    const server = pgError('08006', 'unable to accept connection, access denied', { severity: 'FATAL' });
    const wrapped = new DsqlConnectError('access-denied', 'Aurora DSQL refused the connection: access denied.', { cause: server, hint: 'check the Region' });
    expect((classifyInPlace(wrapped, CONTEXT) as ClassifiedError<DsqlConnectError>).dsql).toMatchObject({ kind: 'access-denied', sqlstate: '08006' });
    expect((classifyInPlace(server, CONTEXT) as ClassifiedError).dsql).toMatchObject({ kind: 'access-denied', sqlstate: '08006' });
  });

  it('never puts a token into dsql, and redacts server hints', () => {
    const err = classifyInPlace(pgError('08006', `password authentication failed for ${TOKEN}`, { hint: `token ${TOKEN}` }), CONTEXT) as ClassifiedError;
    const text = `${JSON.stringify(err.dsql)} ${inspect(err.dsql)}`;
    expect(text).not.toContain('X-Amz-Signature');
    expect(text).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(err.dsql.kind).toBe('access-denied');
  });

  it('returns non-objects and frozen errors unchanged, without throwing', () => {
    expect(classifyInPlace('boom')).toBe('boom');
    expect(classifyInPlace(undefined)).toBeUndefined();
    const frozen = Object.freeze(pgError('40001', 'x'));
    expect(classifyInPlace(frozen)).toBe(frozen);
    expect('dsql' in frozen).toBe(false);
    expect(isOccError(frozen)).toBe(true);
  });

  it('never throws, even when reading the error does (it runs inside driver callbacks)', () => {
    const hostile = new Proxy(new Error('x'), {
      get(target, key) {
        if (key === 'message' || key === 'code') throw new Error('getter exploded');
        return Reflect.get(target, key);
      },
    });
    expect(() => classifyError(hostile)).toThrow('getter exploded');
    expect(() => classifyInPlace(hostile)).not.toThrow();
    expect(classifyInPlace(hostile)).toBe(hostile);
  });

  it('leaves isOccError / isTransientError answers as they were', () => {
    const occ = classifyInPlace(new Error('Failed query', { cause: pgError('40001', 'change conflicts with another transaction (OC000)') }));
    expect(isOccError(occ)).toBe(true);
    const reset = classifyInPlace(socketError('ECONNRESET'));
    expect(isTransientError(reset)).toBe(true);
    expect((reset as ClassifiedError).dsql).toMatchObject({ kind: 'transient', retryable: true });
  });
});
