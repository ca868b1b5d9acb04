import type { Attributes, ObservableResult } from '@opentelemetry/api';
import { CountsByEndpoint, MAX_SERIES } from '../src/counts.js';

/** What a callback observed, as [value, attributes] pairs. */
function observed(counts: CountsByEndpoint): Array<[number, Attributes]> {
  const out: Array<[number, Attributes]> = [];
  const result: ObservableResult = { observe: (value, attributes = {}) => void out.push([value, attributes]) };
  counts.observe(result);
  return out;
}

describe('CountsByEndpoint', () => {
  test('one series per endpoint, Region and outcome; the outcome under the given attribute name', () => {
    const counts = new CountsByEndpoint('outcome');
    counts.add('a.dsql.us-east-1.on.aws', 'us-east-1', 'committed');
    counts.add('a.dsql.us-east-1.on.aws', 'us-east-1', 'committed');
    counts.add('a.dsql.us-east-1.on.aws', 'us-east-1', 'occ_conflict');
    counts.add(undefined, undefined, 'committed');
    expect(observed(counts)).toEqual([
      [2, { endpoint: 'a.dsql.us-east-1.on.aws', region: 'us-east-1', outcome: 'committed' }],
      [1, { endpoint: 'a.dsql.us-east-1.on.aws', region: 'us-east-1', outcome: 'occ_conflict' }],
      [1, { outcome: 'committed' }],
    ]);
  });

  test(`at most ${MAX_SERIES} series; the rest counted in one overflow series (the SDK's convention), nothing else kept`, () => {
    const counts = new CountsByEndpoint();
    for (let i = 0; i < MAX_SERIES + 500; i++) counts.add(`c${i}.dsql.us-east-1.on.aws`, 'us-east-1');
    counts.add('c0.dsql.us-east-1.on.aws', 'us-east-1'); // an existing series still counts as itself
    const series = observed(counts);
    expect(series).toHaveLength(MAX_SERIES + 1);
    expect(series[0]).toEqual([2, { endpoint: 'c0.dsql.us-east-1.on.aws', region: 'us-east-1' }]);
    expect(series.at(-1)).toEqual([500, { 'otel.metric.overflow': true }]);
    // No empty maps for the endpoints that overflowed.
    expect((counts as unknown as { series: Map<string, unknown> }).series.size).toBe(MAX_SERIES);
  });
});
