import { startDsqlLocal } from '../src/index.js';

describe('startDsqlLocal options', () => {
  it.each([
    [{ port: -1 }, /'port' must be a non-negative integer \(got -1\)/],
    [{ region: 'mars' }, /'region' must look like 'us-east-1' \(got "mars"\)/],
    [{ clusterId: 'short' }, /'clusterId' must be 26 lowercase letters or digits/],
    [{ upstream: 'mysql://u:secretpw@h/db' }, /'upstream' must be 'embedded' or a postgres:\/\/ URL \(got "mysql:\/\/\*\*\*@h\/db"\)/],
    [{ credentials: [] }, /'credentials' must be/],
    [{ maxConnections: 0 }, /'maxConnections' must be a positive integer \(got 0\)/],
    [{ connectRate: { perSecond: 0, burst: 1 } }, /'connectRate.perSecond' must be a positive number/],
    [{ maxTransactionAgeSeconds: Number.NaN }, /'maxTransactionAgeSeconds' must be a positive number \(got null\)/],
  ])('rejects %j', async (options, message) => {
    const err = await startDsqlLocal(options as never).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(TypeError);
    expect(err?.message).toMatch(message);
    expect(err?.message).not.toContain('secretpw');
  });
});
