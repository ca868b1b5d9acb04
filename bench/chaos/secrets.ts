/**
 * Evidence for "a token never reaches a log line, an error message or util.inspect": records
 * every token signed in this process, captures console output, collects every error the
 * application saw, and finds any text that is token-shaped (core's `redact` patterns) or holds
 * an issued token, its signature or the secret access key.
 */
import { inspect } from 'node:util';
import { redact } from '@dsql/core';
import { onTokenSigned } from '../lib/token-signings.mjs';

export interface SecretScan {
  /** Every token signed since `watchSecrets()` (through the AWS SDK's SigV4 signer, see lib/token-signings.mjs). */
  readonly tokens: string[];
  /** Every captured text, labelled. */
  readonly texts: { label: string; text: string }[];
  /** Records an error as the application would log it: message, stack and util.inspect. */
  addError(label: string, err: unknown): void;
  /** Texts that leak: token-shaped, or containing an issued token, signature or `secrets`. */
  leaks(secrets: readonly string[]): { label: string; why: string; excerpt: string }[];
  /** Restores console and the signer. */
  restore(): void;
}

/**
 * @example
 * const scan = watchSecrets();
 * // … run the workload, scan.addError('pg', err) for every error …
 * scan.restore();
 * expect(scan.leaks([secretAccessKey])).toEqual([]);
 */
export function watchSecrets(): SecretScan {
  const tokens: string[] = [];
  const texts: { label: string; text: string }[] = [];
  const stopRecording = onTokenSigned((token) => tokens.push(token));
  const consoleMethods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
  const savedConsole = consoleMethods.map((m) => [m, console[m]] as const);
  for (const m of consoleMethods) {
    console[m] = (...args: unknown[]) => {
      texts.push({ label: `console.${m}`, text: args.map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 6 }))).join(' ') });
    };
  }
  return {
    tokens,
    texts,
    addError(label, err) {
      const e = err as { message?: unknown; stack?: unknown } | undefined;
      texts.push({ label: `${label}: message`, text: String(e?.message ?? err) });
      if (typeof e?.stack === 'string') texts.push({ label: `${label}: stack`, text: e.stack });
      texts.push({ label: `${label}: util.inspect`, text: inspect(err, { depth: 8, showHidden: false }) });
      texts.push({ label: `${label}: String()`, text: String(err) });
    },
    leaks(secrets) {
      const needles = [
        ...tokens.map((t) => ({ why: 'an issued token', s: t })),
        ...tokens.map((t) => ({ why: "an issued token's signature", s: /X-Amz-Signature=([0-9a-f]+)/i.exec(t)?.[1] ?? t })),
        ...secrets.filter(Boolean).map((s) => ({ why: 'a secret', s })),
      ];
      const out: { label: string; why: string; excerpt: string }[] = [];
      for (const { label, text } of texts) {
        const hit = needles.find((n) => text.includes(n.s));
        if (hit) out.push({ label, why: hit.why, excerpt: redact(text).slice(0, 200) });
        else if (redact(text) !== text) out.push({ label, why: 'token-shaped text (core redact patterns)', excerpt: redact(text).slice(0, 200) });
      }
      return out;
    },
    restore() {
      stopRecording();
      for (const [m, fn] of savedConsole) console[m] = fn;
    },
  };
}
