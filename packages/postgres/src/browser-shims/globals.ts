/**
 * The Node globals Postgres.js reads, for a browser build (injected by ../../browser-build.ts
 * where the code names them, never set on `globalThis`): `Buffer` from the `buffer` package (the
 * browser Buffer bundlers have long used), and a `process` with an empty environment — Postgres.js
 * reads `PGHOST`, `PGUSER`… from it, which a page does not have; `dsql()` passes every option.
 */
import { Buffer } from 'buffer';

const env: Record<string, string | undefined> = {};

/** `process` as Postgres.js uses it. @internal */
export const process = {
  env,
  platform: 'browser',
  nextTick(fn: (...args: unknown[]) => void, ...args: unknown[]): void {
    queueMicrotask(() => fn(...args));
  },
};

export { Buffer };
