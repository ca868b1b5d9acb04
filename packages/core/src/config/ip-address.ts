import { isIP, isIPv4 } from 'node:net';

/**
 * `net.isIP` for the hosts core checks, without running Node's IPv6 pattern on host names.
 * That pattern is one regular expression of ~100 KB of bytecode: its first run costs ~3 ms of
 * CPU and its second (when V8 compiles it to machine code) ~1 ms more — measured on Node 20, in
 * a cold start that checks the same cluster name several times before the TLS handshake checks
 * it once more. An IPv6 address always contains a colon, so a string without one needs only the
 * IPv4 check: same answers as `net.isIP`.
 *
 * @example
 * ipVersion('abc.dsql.us-east-1.on.aws'); // 0
 * ipVersion('10.0.0.7'); // 4
 * ipVersion('::1'); // 6
 * @internal
 */
export function ipVersion(host: string): 0 | 4 | 6 {
  if (!host.includes(':')) return isIPv4(host) ? 4 : 0;
  return isIP(host) as 0 | 4 | 6;
}
