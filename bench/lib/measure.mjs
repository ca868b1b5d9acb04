// Small measuring helpers shared by the scenarios: medians and percentiles, alternating rounds,
// a slow credential provider, and a count of every token signing in this process.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { onTokenSigned } from './token-signings.mjs';

/** Median of a non-empty list (the upper middle for an even count). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** The p-th percentile (0–100) by nearest rank. */
export function percentile(xs, p) {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/**
 * Runs `measure(name)` for every candidate over `rounds` rounds, alternating the order each round
 * (forward, then reversed) so drift and load from other processes hit every candidate alike.
 * Returns `{ [name]: result[] }`, one result per round.
 */
export async function alternate(names, rounds, measure, between = async () => {}) {
  const results = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      results[name].push(await measure(name, r));
      await between();
    }
  }
  return results;
}

/**
 * The median of per-round ratios `value(name) / value(base)`: each round runs both back to back,
 * so a busy machine moves both sides of a ratio alike.
 */
export function medianRatio(perRound, name, base, value = (x) => x) {
  return median(perRound[name].map((x, r) => value(x) / value(perRound[base][r])));
}

/**
 * A credential provider that takes `ms` per call, like the ECS/EKS container endpoint or IMDS,
 * and counts its calls (`provider.calls`).
 */
export function slowCredentials(credentials, ms) {
  const provider = async () => {
    provider.calls++;
    await new Promise((r) => setTimeout(r, ms));
    return { ...credentials };
  };
  provider.calls = 0;
  return provider;
}

/**
 * Counts every DSQL token signed in this process from now until `stop()`: AWS's connector signs with
 * the AWS SDK's SigV4 signer module (wrapped, see token-signings.mjs); @dsql/core's published build
 * signs with its own bundled copy of that signer, which the wrapper does not see, and reports
 * each signing on its `dsql:token:signed` diagnostics channel (subscribed only while counting,
 * so other scenarios run with no subscriber).
 *
 * @returns {{ count: () => number, stop: () => void }}
 */
export function countSignings() {
  let count = 0;
  const stopSdk = onTokenSigned(() => count++);
  const onCore = (message) => {
    if (message.outcome === 'ok') count++;
  };
  subscribe('dsql:token:signed', onCore);
  return {
    count: () => count,
    stop: () => {
      stopSdk();
      unsubscribe('dsql:token:signed', onCore);
    },
  };
}

/** Sleeps `ms` milliseconds. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** `1234.5` → `1,235`. */
export const int = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
/** A ratio as `0.973×`. */
export const times = (x) => (Number.isFinite(x) ? `${x.toFixed(3)}×` : '–');
/** Milliseconds with two decimals below 10 ms. */
export const ms = (x) => (Number.isFinite(x) ? (x < 10 ? x.toFixed(2) : x.toFixed(1)) : '–');
