import { cancelRequestedRecently, noteCancelRequest } from '../src/accept/cancel-requests.js';

// A 57014 is passed to the client as a cancel only when a client asked to cancel that backend;
// otherwise the proxy treats it as the lock timeout PostgreSQL mislabelled (see cancel-requests.ts).
it('remembers a backend a client asked to cancel for 30 s, and only that backend', () => {
  const t0 = 1_000_000;
  expect(cancelRequestedRecently(4242, t0)).toBe(false);
  noteCancelRequest(4242, t0);
  expect(cancelRequestedRecently(4242, t0 + 1)).toBe(true);
  expect(cancelRequestedRecently(4243, t0 + 1)).toBe(false);
  expect(cancelRequestedRecently(4242, t0 + 30_000)).toBe(true);
  expect(cancelRequestedRecently(4242, t0 + 30_001)).toBe(false);
});
