/**
 * Helpers both chaos suites use to name what reached the application and to end adapters.
 */
import type { Adapter } from './adapters.js';

/**
 * The first `code` down the error's cause chain (Drizzle wraps driver errors in a
 * DrizzleQueryError without one), else the error's name and the start of its message: enough to
 * tell failures apart.
 *
 * @example
 * describeFailure(Object.assign(new Error('x'), { code: '40001' })); // '40001'
 */
export function describeFailure(err: unknown): string {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code !== undefined) return e === err ? String(code) : `${(err as Error).name}>${String(code)}`;
  }
  const e = err as Error | undefined;
  return `${e?.name ?? typeof err}(${String(e?.message ?? err).slice(0, 60)})`;
}

/**
 * Ends an adapter, giving up after `ms`: a pool whose connection is stuck in a transaction that
 * never answered would otherwise keep `end()` (and the test run) waiting forever.
 *
 * @example
 * expect(await endWithin(adapter, 10_000)).toBe('ended');
 */
export async function endWithin(adapter: Adapter, ms: number): Promise<'ended' | 'gave up'> {
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    adapter.end().then(() => 'ended' as const, () => 'ended' as const),
    new Promise<'gave up'>((r) => (timer = setTimeout(() => r('gave up'), ms))),
  ]);
  clearTimeout(timer);
  if (result === 'gave up') process.stderr.write(`chaos: ${adapter.name}.end() did not finish within ${ms / 1000} s\n`);
  return result;
}
