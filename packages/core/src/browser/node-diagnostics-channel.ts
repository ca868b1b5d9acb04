/**
 * Browser stand-in for `node:diagnostics_channel` (swapped in by browser-build.ts). A page has
 * no diagnostics channels: every channel reports no subscribers, so core's publishers (which
 * check `hasSubscribers` first) build no payload and publish nothing.
 */
import type { Channel } from 'node:diagnostics_channel';

const silent = {
  hasSubscribers: false,
  publish(): void {},
  subscribe(): void {},
  unsubscribe(): boolean {
    return false;
  },
};

/** A channel nobody listens to. @internal */
function channel(name: string | symbol): Channel {
  return { ...silent, name } as unknown as Channel;
}

export default { channel };
