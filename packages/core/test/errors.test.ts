import { inspect } from 'node:util';
import {
  DsqlError,
  DsqlConfigError,
  CommitOutcomeUnknownError,
  DsqlTransactionRolledBackError,
  DsqlUnsupportedError,
  DsqlTokenError,
  DsqlTimeoutError,
  isDsqlError,
  isCommitOutcomeUnknownError,
  redact,
} from '../src/index.js';
import { HOST, SESSION_CREDS } from './helpers.js';

const TOKEN = `${HOST}/?Action=DbConnectAdmin&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAIOSFODNN7EXAMPLE%2F20261124%2Fus-east-1%2Fdsql%2Faws4_request&X-Amz-Date=20261124T130827Z&X-Amz-Expires=900&X-Amz-Security-Token=${encodeURIComponent(SESSION_CREDS.sessionToken!)}&X-Amz-Signature=${'ab'.repeat(32)}&X-Amz-SignedHeaders=host`;

describe('redact', () => {
  it('removes whole presigned tokens, wherever they appear', () => {
    for (const text of [`password=${TOKEN}`, `token: "${TOKEN}"`, `postgres://admin:${encodeURIComponent(TOKEN)}@${HOST}/postgres`, TOKEN]) {
      const out = redact(text);
      expect(out).not.toMatch(/X-Amz|ASIAIOSFODNN7EXAMPLE|abababab|FwoGZXIv/);
      expect(out).toContain('[redacted]');
    }
  });

  it('removes individual SigV4 parameters', () => {
    expect(redact('sig X-Amz-Signature=abc123 here')).toBe('sig [redacted] here');
    expect(redact('X-Amz-Security-Token=IQoJb3JpZ2luX2VjE')).toBe('[redacted]');
    expect(redact('Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261124/us-east-1/dsql/aws4_request, Signature=' + 'f'.repeat(64))).toBe(
      'Authorization: AWS4-HMAC-SHA256 Credential=[redacted]/20261124/us-east-1/dsql/aws4_request, Signature=[redacted]',
    );
  });

  it("keeps the header of a DsqlConfigError for a secret-named field whole, and still hides the value", () => {
    const err = new DsqlConfigError('password', '"s3cr3t-value"', 'a string or a function');
    expect(err.message).toMatch(/^Invalid password: got /);
    expect(err.message).toContain('expected a string or a function');
    expect(redact('Invalid token: got password=s3cr3t; expected a string')).toBe('Invalid token: got password=[redacted]; expected a string');
  });

  it('removes passwords in URLs and key/value strings', () => {
    expect(redact('postgres://admin:s3cr3t@localhost:5432/db')).toBe('postgres://admin:[redacted]@localhost:5432/db');
    expect(redact('host=x password=s3cr3t user=y')).toBe('host=x password=[redacted] user=y');
    expect(redact("password='se cret' user=y")).toBe('password=[redacted] user=y');
    expect(redact('{"secretAccessKey":"abc/def","sessionToken":"zzz"}')).toBe('{"secretAccessKey":[redacted],"sessionToken":[redacted]}');
    expect(redact('?sslmode=require&password=p4ss&x=1')).toBe('?sslmode=require&password=[redacted]&x=1');
  });

  it('leaves ordinary text alone', () => {
    const text = 'duplicate key value violates unique constraint "users_pkey" on abc.dsql.us-east-1.on.aws';
    expect(redact(text)).toBe(text);
    expect(redact(42)).toBe('42');
  });
});

describe('DsqlError', () => {
  it('has a code, a name per subclass, a hint, and a redacted message', () => {
    const e = new DsqlError('connect-failed', `refused ${TOKEN}`, { hint: `use password=${'x'}` });
    expect(e).toBeInstanceOf(Error);
    expect([e.name, e.code]).toEqual(['DsqlError', 'connect-failed']);
    expect(e.message).toBe('refused [redacted]');
    expect(e.hint).toBe('use password=[redacted]');
    const subclasses: [Error, string, string][] = [
      [new DsqlConfigError('port', '0', 'a port'), 'DsqlConfigError', 'invalid-config'],
      [new CommitOutcomeUnknownError(), 'CommitOutcomeUnknownError', 'commit-outcome-unknown'],
      [new DsqlTransactionRolledBackError(), 'DsqlTransactionRolledBackError', 'transaction-rolled-back'],
      [new DsqlUnsupportedError('savepoints', 'no'), 'DsqlUnsupportedError', 'unsupported-feature'],
      [new DsqlTokenError('no'), 'DsqlTokenError', 'token-generation-failed'],
      [new DsqlTimeoutError('slow'), 'DsqlTimeoutError', 'timeout'],
    ];
    for (const [err, name, code] of subclasses) {
      expect([err.name, (err as DsqlError).code, isDsqlError(err), isDsqlError(err, code as never)]).toEqual([name, code, true, true]);
    }
  });

  it('type guards work across duplicate installs (name/code or brand, not instanceof)', () => {
    const foreign = Object.assign(new Error('lost'), { name: 'CommitOutcomeUnknownError', code: 'commit-outcome-unknown' });
    expect(isCommitOutcomeUnknownError(foreign)).toBe(true);
    expect(isDsqlError(foreign, 'commit-outcome-unknown')).toBe(true);
    expect(isDsqlError(Object.assign(new Error('x'), { code: 'invalid-config' }))).toBe(false);
    expect(isDsqlError(Object.assign(new Error('x'), { name: 'DsqlError' }))).toBe(false);
    expect(isDsqlError('DsqlError')).toBe(false);
    expect(isCommitOutcomeUnknownError(new DsqlConfigError('a', 'b', 'c'))).toBe(false);
  });

  it('never reveals secrets in util.inspect, including the cause chain', () => {
    const cause = Object.assign(new Error(`login with ${TOKEN} failed`), { password: 's3cr3tpw', config: { password: 's3cr3tpw' } });
    const e = new CommitOutcomeUnknownError({ cause });
    const shown = inspect(e, { depth: 5, showHidden: true });
    expect(shown).toContain('CommitOutcomeUnknownError');
    expect(shown).not.toMatch(/X-Amz|s3cr3tpw|abababab/);
  });
});
