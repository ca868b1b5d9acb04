/**
 * The conformance run as a CI test: replays every golden case (recordings of a real cluster)
 * and every documentation probe (`probes/`, expectations from AWS's user guide) against a fresh
 * `@dsql/local`, prints both reports, and fails if either set matches fewer cases than its
 * committed figure, so conformance can only go up. `pnpm --filter @dsql/local conformance` runs
 * this folder and prints the tables with every miss.
 */
import { createDsqlRules, startDsqlLocal, type DsqlLocal } from '../../src/index.js';
import { PROBE_FILES, PROBE_FIXTURE } from './probes/index.js';
import { formatReport, replayGolden, replaySet, type ConformanceReport } from './replay.js';

/** Matched recorded cases at the last commit. Raise it when conformance improves; never lower it. */
const GOLDEN_FLOOR = 163;
const GOLDEN_CASES = 163;
/** Matched documentation probes at the last commit (every probe: a miss is a regression). */
const PROBE_FLOOR = 336;
const PROBE_CASES = 336;

let dsql: DsqlLocal | undefined;
let golden: ConformanceReport;
let probes: ConformanceReport;

beforeAll(async () => {
  // Async jobs take as long as the recorded cluster's did (about 2 s in its sys.jobs rows), so a
  // slow CI machine cannot let a job finish between two steps of a case.
  dsql = await startDsqlLocal({ rules: createDsqlRules({ asyncJobMs: 2000 }) });
  golden = await replayGolden(dsql);
  probes = await replaySet(dsql, {
    title: 'DSQL conformance (probes written from the Aurora DSQL user guide)',
    files: PROBE_FILES,
    fixture: PROBE_FIXTURE,
  });
  process.stdout.write(`${formatReport(golden)}\n${formatReport(probes)}`);
}, 300_000);

afterAll(async () => {
  await dsql?.stop();
}, 30_000);

describe('conformance with a real Aurora DSQL cluster (golden recordings)', () => {
  it(`matches at least ${GOLDEN_FLOOR} recorded cases`, () => {
    expect(golden.matched).toBeGreaterThanOrEqual(GOLDEN_FLOOR);
  });

  it('checks every recorded case', () => {
    expect(golden.checked).toBe(GOLDEN_CASES);
  });
});

describe('conformance with the Aurora DSQL user guide (documentation probes)', () => {
  it(`matches at least ${PROBE_FLOOR} probes`, () => {
    expect(probes.matched).toBeGreaterThanOrEqual(PROBE_FLOOR);
  });

  it('checks every probe, and names its source for each', () => {
    expect(probes.checked).toBe(PROBE_CASES);
    for (const file of PROBE_FILES) for (const c of file.cases) expect((c as { source?: string }).source).toBeTruthy();
    const names = PROBE_FILES.flatMap((f) => f.cases.map((c) => `${f.file}/${c.name}`));
    expect(new Set(names).size).toBe(names.length);
  });
});
