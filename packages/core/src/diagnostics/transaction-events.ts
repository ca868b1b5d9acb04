/**
 * The `dsql:transaction:*` messages, published by core's transaction runner (transaction/runner.ts)
 * for every adapter: one `start` and one `end` per `transaction()` call, one `attempt` per attempt.
 */
import { channels, monotonicMs } from './channels.js';
import { transactionOutcome } from './outcomes.js';
import type { DsqlStatsRecorder } from './stats.js';

let transactionIds = 0;

/**
 * Wraps the attempt function of one `transaction()` call so that each attempt publishes its
 * outcome, and the call its start and end; `stats` (the pool's session counters) counts the same
 * outcomes. Returns `once` itself when nobody listens and nothing counts.
 *
 * @example
 * const observed = observeTransaction(once, session.stats);
 * return observed.run(() => withRetry(observed.once, options));
 */
export function observeTransaction<T>(
  once: (attempt: number) => Promise<T>,
  stats?: DsqlStatsRecorder,
): { once: (attempt: number) => Promise<T>; run: (loop: () => Promise<T>) => Promise<T> } {
  if (stats === undefined && !(channels.transactionStart.hasSubscribers || channels.transactionAttempt.hasSubscribers || channels.transactionEnd.hasSubscribers)) {
    return { once, run: (loop) => loop() };
  }
  const transactionId = ++transactionIds;
  const where = stats?.endpoint;
  let attempts = 0;
  let lastOutcome: string = 'error';
  return {
    once: async (attempt) => {
      attempts = attempt;
      const started = monotonicMs();
      try {
        const result = await once(attempt);
        lastOutcome = 'committed';
        stats?.transactionAttempt(attempt, 'committed');
        if (channels.transactionAttempt.hasSubscribers) {
          channels.transactionAttempt.publish({ transactionId, ...where, attempt, outcome: 'committed', errorKind: undefined, sqlstate: undefined, durationMs: monotonicMs() - started });
        }
        return result;
      } catch (err) {
        const { outcome, errorKind, sqlstate } = transactionOutcome(err);
        lastOutcome = outcome;
        stats?.transactionAttempt(attempt, outcome);
        if (channels.transactionAttempt.hasSubscribers) {
          channels.transactionAttempt.publish({ transactionId, ...where, attempt, outcome, errorKind, sqlstate, durationMs: monotonicMs() - started });
        }
        throw err;
      }
    },
    run: async (loop) => {
      const started = monotonicMs();
      if (channels.transactionStart.hasSubscribers) channels.transactionStart.publish({ transactionId, ...where });
      try {
        return await loop();
      } catch (err) {
        // Gave up before any attempt ran (an aborted signal, a bad retry option).
        if (attempts === 0) lastOutcome = transactionOutcome(err).outcome;
        throw err;
      } finally {
        stats?.transactionEnded();
        if (channels.transactionEnd.hasSubscribers) channels.transactionEnd.publish({ transactionId, ...where, attempts, outcome: lastOutcome, durationMs: monotonicMs() - started });
      }
    },
  };
}
