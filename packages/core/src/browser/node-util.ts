/**
 * Browser stand-in for `node:util` (swapped in by browser-build.ts): core uses only
 * `inspect.custom`, to keep tokens and keys out of `util.inspect`. The symbol is the same
 * registered one Node uses, so the hooks stay harmless in a page; `inspect` itself is only
 * called from inside those hooks, which a browser never runs.
 */
import type { inspect as nodeInspect } from 'node:util';

function inspectValue(value: unknown): string {
  return String(value);
}

/** `util.inspect` as far as core needs it in a browser. @internal */
export const inspect = Object.assign(inspectValue, {
  custom: Symbol.for('nodejs.util.inspect.custom') as typeof nodeInspect.custom,
}) as unknown as typeof nodeInspect;

export default { inspect };
