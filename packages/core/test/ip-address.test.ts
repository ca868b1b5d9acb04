import { isIP } from 'node:net';
import fc from 'fast-check';
import { ipVersion } from '../src/config/ip-address.js';
import { isIP as browserIsIP, isIPv4 as browserIsIPv4 } from '../src/browser/node-net.js';
import { HOST } from './helpers.js';

// ipVersion skips Node's IPv6 pattern for strings without a colon; its answers must stay net.isIP's.
const INPUTS = [HOST, 'localhost', 'example.com.', '10.0.0.7', '255.255.255.255', '256.1.1.1', '1.2.3', '01.2.3.4', '::1', '::', '::ffff:10.0.0.7', 'fe80::1%eth0', '2001:db8::1', '2001:db8:::1', '[::1]', 'host:5432', ':', '', ' 10.0.0.7', '10.0.0.7 '];

describe('ipVersion', () => {
  it("answers as net.isIP for host names, addresses and near misses", () => {
    expect(INPUTS.map((s) => [s, ipVersion(s)])).toEqual(INPUTS.map((s) => [s, isIP(s)]));
  });

  it('answers as net.isIP for generated addresses, domains and strings', () => {
    const input = fc.oneof(fc.ipV4(), fc.ipV4Extended(), fc.ipV6(), fc.domain(), fc.string(), fc.stringMatching(/^[0-9a-f:.]{0,20}$/));
    fc.assert(fc.property(input, (s) => ipVersion(s) === isIP(s)), { numRuns: 2000 });
  });

  it("the browser's isIPv4 answers as net.isIPv4 (ipVersion's check there)", () => {
    expect(INPUTS.map((s) => [s, browserIsIPv4(s)])).toEqual(INPUTS.map((s) => [s, isIP(s) === 4]));
    expect(browserIsIP('10.0.0.7')).toBe(4);
  });
});
