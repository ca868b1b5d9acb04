/**
 * What the session tells from a statement's text alone (no parse on the hot path): COMMIT,
 * writes, locking reads, DDL. The SQL rules (../sql) parse; these only steer the proxy.
 */

/** DDL (GRANT / REVOKE and COMMENT included): takes schema locks. */
export const DDL_RE = /^\s*(?:create|alter|drop|grant|revoke|comment)\b/i;

/** A SELECT. */
export const READ_RE = /^\s*select\b/i;

/** COMMIT / END, alone. */
export const COMMIT_RE = /^\s*(?:commit|end)(?:\s+(?:work|transaction))?\s*;?\s*$/i;

/** A row-locking clause at the end of a SELECT (`FOR UPDATE`, `FOR KEY SHARE`, …). */
export const FOR_LOCK_RE = /\s+for\s+(?:update|no\s+key\s+update|share|key\s+share)(?:\s+of\s+[\w.,\s"]+?)?(?:\s+nowait|\s+skip\s+locked)?\s*;?\s*$/i;

/** A statement that may write rows. */
export const WRITE_RE = /^\s*(?:insert|update|delete|with|merge)\b/i;

/** A RETURNING clause. */
export const RETURNING_RE = /\breturning\b/i;

/** A `SELECT … FOR UPDATE` / `FOR KEY SHARE` (takes row locks like a write). */
export function isLockingRead(sql: string): boolean {
  return READ_RE.test(sql) && FOR_LOCK_RE.test(sql);
}
