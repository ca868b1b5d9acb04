import { resolveConfig } from '../src/index.js';
import { connectRateLimiterFor, connectRateLimitKey } from '../src/connect/rate-limiter-for.js';

/** A fresh cluster id per test, so the process-wide limiters of other tests never interfere. */
let n = 0;
const clusterId = (): string => `ratelimitkeytest${String(++n).padStart(10, '0')}`;

describe('connectRateLimiterFor', () => {
  it('gives every way of reaching one cluster the same limiter (public, PrivateLink, bare id, hostaddr, custom host + clusterId)', () => {
    const id = clusterId();
    const configs = [
      resolveConfig({ host: `${id}.dsql.us-east-1.on.aws` }, undefined, {}),
      resolveConfig({ host: `${id.toUpperCase()}.DSQL.us-east-1.on.aws.` }, undefined, {}),
      resolveConfig({ host: `${id}.dsql-a1b2.us-east-1.on.aws` }, undefined, {}),
      resolveConfig({ host: id, region: 'us-east-1' }, undefined, {}),
      resolveConfig({ host: `${id}.dsql.us-east-1.on.aws`, hostaddr: '10.0.0.7', user: 'app' }, undefined, {}),
      resolveConfig({ host: 'vpce-0abc.dsql.us-east-1.vpce.amazonaws.com', region: 'us-east-1', clusterId: id }, undefined, {}),
    ];
    const keys = new Set(configs.map(connectRateLimitKey));
    expect([...keys]).toEqual([`${id}.dsql.us-east-1.on.aws:5432`]);
    const limiters = new Set(configs.map(connectRateLimiterFor));
    expect(limiters.size).toBe(1);
  });

  it('keeps clusters, Regions and servers on other ports apart, and gives none when limiting is off', () => {
    const id = clusterId();
    const a = connectRateLimiterFor(resolveConfig({ host: `${id}.dsql.us-east-1.on.aws` }, undefined, {}));
    expect(connectRateLimiterFor(resolveConfig({ host: `${clusterId()}.dsql.us-east-1.on.aws` }, undefined, {}))).not.toBe(a);
    expect(connectRateLimiterFor(resolveConfig({ host: `${id}.dsql.us-west-2.on.aws` }, undefined, {}))).not.toBe(a);
    const local = (port: number) => resolveConfig({ host: 'localhost', port, region: 'us-east-1', sslmode: 'disable' }, undefined, {});
    expect(connectRateLimitKey(local(15432))).toBe('localhost:15432');
    expect(connectRateLimiterFor(local(15432))).toBe(connectRateLimiterFor(local(15432)));
    expect(connectRateLimiterFor(local(15432))).not.toBe(connectRateLimiterFor(local(15433)));
    expect(connectRateLimiterFor(resolveConfig({ host: `${id}.dsql.us-east-1.on.aws`, connectRateLimit: false }, undefined, {}))).toBeUndefined();
  });

  it('makes two adapters of one cluster draw from one bucket', async () => {
    const id = clusterId();
    const viaPublic = connectRateLimiterFor(resolveConfig({ host: `${id}.dsql.us-east-1.on.aws`, connectRateLimit: { perSecond: 1, burst: 2 } }, undefined, {}))!;
    const viaPrivateLink = connectRateLimiterFor(resolveConfig({ host: `${id}.dsql-x9.us-east-1.on.aws`, connectRateLimit: { perSecond: 1, burst: 2 } }, undefined, {}))!;
    await viaPublic.acquire();
    await viaPrivateLink.acquire();
    // The bucket of the cluster is empty now: a third connection, from either side, has to wait ~1 s.
    await expect(viaPrivateLink.acquire({ timeoutMs: 100 })).rejects.toMatchObject({ code: 'timeout' });
    expect(viaPublic.stats()).toEqual({ immediate: 2, delayed: 0, refused: 1, rateExceeded: 0 });
  });
});
