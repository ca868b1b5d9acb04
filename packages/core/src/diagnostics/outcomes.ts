/**
 * The outcome vocabularies of the diagnostics messages, derived from core's error classification
 * (one place decides what an error means: errors/sqlstate.ts).
 */
import { isCommitOutcomeUnknownError, isDsqlError } from '../errors/errors.js';
import { errorChain } from '../errors/error-chain.js';
import { classifyError } from '../errors/sqlstate.js';
import type { DsqlConnectOutcome, DsqlTransactionOutcome } from './channels.js';

const TIMEOUT = /\btime(?:d)? ?out\b|timeout expired|ETIMEDOUT/i;
const REFUSED = /waking up cluster|ECONNREFUSED|cannot connect now/i;

function isTimeout(err: unknown): boolean {
  if (isDsqlError(err, 'timeout')) return true;
  return errorChain(err).some((f) => (f.code !== undefined && f.code === 'ETIMEDOUT') || TIMEOUT.test(f.message));
}

/**
 * The outcome and reason of a failed connection attempt: 53400 → `rate_limited`; access denied,
 * too many connections, a waking cluster or a refused TCP connection → `refused`; a timeout →
 * `timeout`; anything else → `error`. The reason is core's error kind; the SQLSTATE when the server answered.
 *
 * @example
 * connectOutcome(err) // { outcome: 'rate_limited', reason: 'rate-limited', sqlstate: '53400' }
 */
export function connectOutcome(err: unknown): { outcome: DsqlConnectOutcome; reason: string; sqlstate: string | undefined } {
  const c = classifyError(err);
  let outcome: DsqlConnectOutcome;
  if (c.kind === 'rate-limited') outcome = 'rate_limited';
  else if (c.kind === 'access-denied' || c.kind === 'too-many-connections') outcome = 'refused';
  else if (isTimeout(err)) outcome = 'timeout';
  else if (errorChain(err).some((f) => REFUSED.test(f.message) || f.code === 'ECONNREFUSED')) outcome = 'refused';
  else outcome = 'error';
  return { outcome, reason: c.kind, sqlstate: c.sqlstate };
}

/**
 * The outcome of a failed transaction attempt: `commit_unknown`, `occ_conflict`, `transient` or `error`.
 *
 * @example
 * transactionOutcome(occError) // 'occ_conflict'
 */
export function transactionOutcome(err: unknown): { outcome: DsqlTransactionOutcome; errorKind: string; sqlstate: string | undefined } {
  if (isCommitOutcomeUnknownError(err)) return { outcome: 'commit_unknown', errorKind: 'commit-outcome-unknown', sqlstate: undefined };
  const c = classifyError(err);
  const outcome: DsqlTransactionOutcome = c.kind === 'occ-conflict' ? 'occ_conflict' : c.kind === 'transient' ? 'transient' : c.kind === 'commit-outcome-unknown' ? 'commit_unknown' : 'error';
  return { outcome, errorKind: c.kind, sqlstate: c.sqlstate };
}
