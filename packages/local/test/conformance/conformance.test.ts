/**
 * The conformance run as a CI test: replays every golden case against a fresh `@dsql/local`
 * and fails if fewer cases match than the committed floor, so conformance can only go up.
 * `pnpm --filter @dsql/local conformance` runs just this and prints the table.
 */
import { createDsqlRules, startDsqlLocal, type DsqlLocal } from '../../src/index.js';
import { formatReport, replayGolden, type ConformanceReport } from './replay.js';

/** Matched cases at the last commit. Raise it when conformance improves; never lower it. */
const MATCHED_FLOOR = 163;

let dsql: DsqlLocal | undefined;
let report: ConformanceReport;

beforeAll(async () => {
  // Async jobs take as long as the recorded cluster's did (about 2 s in its sys.jobs rows), so a
  // slow CI machine cannot let a job finish between two steps of a case.
  dsql = await startDsqlLocal({ rules: createDsqlRules({ asyncJobMs: 2000 }) });
  report = await replayGolden(dsql);
  process.stdout.write(formatReport(report));
}, 180_000);

afterAll(async () => {
  await dsql?.stop();
}, 30_000);

describe('conformance with a real Aurora DSQL cluster (golden recordings)', () => {
  it(`matches at least ${MATCHED_FLOOR} recorded cases`, () => {
    expect(report.matched).toBeGreaterThanOrEqual(MATCHED_FLOOR);
  });

  it('checks every recorded case', () => {
    expect(report.checked).toBe(163);
  });
});
