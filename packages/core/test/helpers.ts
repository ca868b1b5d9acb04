import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import type { AwsCredentials, TransactionDriver } from '../src/index.js';
import type { DsqlStatsRecorder } from '../src/diagnostics/stats.js';

export const CLUSTER = 'abcdefghijklmnopqrstuvwxyz';
export const HOST = `${CLUSTER}.dsql.us-east-1.on.aws`;
export const CREDS: AwsCredentials = Object.freeze({
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
});
export const SESSION_CREDS: AwsCredentials = Object.freeze({
  accessKeyId: 'ASIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY',
  sessionToken: 'FwoGZXIvYXdzEXAMPLESESSIONTOKENvalue0123456789',
});

/** What a server learns from a token by re-signing it (as FACTS.md describes). */
export interface VerifiedToken {
  host: string;
  region: string;
  service: string;
  action: string;
  accessKeyId: string;
  expiresIn: number;
  signedAt: Date;
  signatureMatches: boolean;
}

/** Verifies a DSQL token the way a server does: parse it, re-sign with @smithy/signature-v4, compare. */
export async function verifyToken(token: string, credentials: AwsCredentials): Promise<VerifiedToken> {
  const url = new URL(`https://${token}`);
  const q = url.searchParams;
  const [accessKeyId, date, region, service, terminator] = (q.get('X-Amz-Credential') ?? '').split('/');
  const amzDate = q.get('X-Amz-Date') ?? '';
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m || terminator !== 'aws4_request' || date !== amzDate.slice(0, 8)) throw new Error('malformed token');
  const signedAt = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  const expiresIn = Number(q.get('X-Amz-Expires'));
  const signer = new SignatureV4({ service: service!, region: region!, credentials, sha256: Sha256 });
  const presigned = await signer.presign(
    { method: 'GET', protocol: 'https:', hostname: url.hostname, path: '/', query: { Action: q.get('Action')! }, headers: { host: url.hostname } } as never,
    { signingDate: signedAt, expiresIn },
  );
  const expected = (presigned.query as Record<string, string>)['X-Amz-Signature'];
  return {
    host: url.hostname,
    region: region!,
    service: service!,
    action: q.get('Action')!,
    accessKeyId: accessKeyId!,
    expiresIn,
    signedAt,
    signatureMatches: expected === q.get('X-Amz-Signature'),
  };
}

/** A manual clock. */
export function manualClock(start = Date.now()): { now: () => number; advance: (ms: number) => void; set: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms), set: (ms) => void (t = ms) };
}

/** Builds an error like node-postgres's DatabaseError / Postgres.js's PostgresError. */
export function pgError(code: string, message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { code, severity: 'ERROR', ...extra });
}

/** Builds a Node socket error. */
export function socketError(code: string, message = `read ${code}`): Error {
  return Object.assign(new Error(message), { code, errno: -104, syscall: 'read' });
}

/**
 * A transaction driver over no database whose COMMITs fail with `commitErrors`, in order, then
 * succeed; `stats` is the pool's counters it hands to the runner.
 */
export function commitFailingDriver(commitErrors: Error[], stats?: DsqlStatsRecorder): TransactionDriver<object> {
  const errors = [...commitErrors];
  return {
    stats,
    connect: async () => ({}),
    begin: async () => {},
    commit: async () => {
      const err = errors.shift();
      if (err) throw err;
      return 'COMMIT';
    },
    rollback: async () => {},
    release: () => {},
  };
}
