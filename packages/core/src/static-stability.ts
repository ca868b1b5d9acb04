/**
 * Timing of "static stability" (the AWS SDK's name for it): riding out an outage of the
 * credential source with credentials and tokens that are still valid, because both are
 * refreshed well before they expire. Shared by `CredentialCache` and `TokenProvider`. Internal.
 */

/** The longest safety margin kept before a credential's or token's real expiry. */
const MAX_SAFETY_MARGIN_MS = 5_000;

/**
 * How long before its real expiry something must stop being handed out during an outage: it
 * has to survive the connection handshake that uses it (a round-trip or two). 5 s, or a tenth
 * of its lifetime when that is shorter (tests and chaos runs use lifetimes of seconds).
 * @internal
 */
export function safetyMarginMs(lifetimeMs: number): number {
  return Math.max(0, Math.min(MAX_SAFETY_MARGIN_MS, lifetimeMs / 10));
}

/** First wait before asking a failed credential source again; doubles per failure in a row. */
const RETRY_BASE_MS = 500;
/** Longest wait between two attempts while serving credentials in hand. */
const RETRY_MAX_MS = 30_000;

/**
 * Wait before the next attempt to re-resolve credentials after `failuresInRow` consecutive
 * failures, while the credentials in hand are served: 0.5 s, 1 s, 2 s … at most 30 s. No
 * jitter: attempts are triggered by callers, which are spread already, and one process makes
 * at most one attempt at a time per credential source.
 * @internal
 */
export function retryDelayMs(failuresInRow: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(Math.max(failuresInRow, 1) - 1, 16));
}
