/**
 * The documentation probes (`test/conformance/probes/`) against the rules alone, without a
 * server: every single-statement probe is refused with the expected SQLSTATE and text by the
 * analyzer, or passes it untouched. The conformance run replays the same probes end to end.
 */
import { PROBE_FILES } from '../conformance/probes/index.js';
import { analyzeSql, loadSqlParser } from '../../src/sql/index.js';

beforeAll(loadSqlParser);

const single = PROBE_FILES.flatMap((f) =>
  f.cases.filter((c) => c.steps?.length === 1).map((c) => [`${f.file}/${c.name}`, c.steps![0]!, c.observations![0]!] as const),
);

describe('documentation probes, rules only', () => {
  it('covers most probes with a single statement', () => {
    expect(single.length).toBeGreaterThan(280);
  });

  it.each(single)('%s', (_name, sql, expected) => {
    const { refusal } = analyzeSql(sql);
    if (expected.outcome === 'error') expect(refusal).toEqual({ code: expected.sqlstate, message: expected.message });
    else expect(refusal).toBeUndefined();
  });
});
