/**
 * Browser stand-in for `node:net` (swapped in by browser-build.ts): core uses only `isIP` and
 * `isIPv4`, to tell an address from a hostname. Same answers as Node's for the inputs core passes
 * (hostnames and literal addresses); IPv6 is checked by the URL parser every browser has rather than by a
 * hand-written grammar, with a zone id (`fe80::1%eth0`) accepted as Node accepts it.
 */
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)$/;

/** Whether `input` is an IPv4 address (as `net.isIPv4`). @internal */
export function isIPv4(input: string): boolean {
  return IPV4.test(input);
}

/** 4 for an IPv4 address, 6 for an IPv6 address, 0 otherwise (as `net.isIP`). @internal */
export function isIP(input: string): 0 | 4 | 6 {
  if (IPV4.test(input)) return 4;
  if (!input.includes(':') || /[[\]/\s]/.test(input)) return 0;
  const zone = input.indexOf('%');
  const address = zone === -1 ? input : input.slice(0, zone);
  try {
    new URL(`http://[${address}]/`);
    return 6;
  } catch {
    return 0;
  }
}
