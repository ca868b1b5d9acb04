/**
 * Every recorded step of a real DSQL cluster, fed through a rules session the way the proxy
 * does (simple protocol, transaction status taken from the recording): each refusal DSQL
 * answered must come out of the rules word for word, unless PostgreSQL itself gives that exact
 * answer upstream (listed below with the reason), and nothing DSQL accepted may be refused.
 */
import { createDsqlRules, type SqlDecision, type TxStatus } from '../../src/sql/index.js';
import { loadGolden, observedTags, type GoldenObservation } from '../conformance/golden.js';

/** Errors the upstream PostgreSQL (or the rules' upstream helpers) answers, not the rules. */
const ANSWERED_UPSTREAM: Array<{
  reason: string;
  test: (o: { sqlstate: string; message: string }) => boolean;
  /** The rewrite that makes the upstream answer it, when PostgreSQL alone would not. */
  via?: RegExp;
}> = [
  { reason: 'PostgreSQL refuses statements in a failed transaction', test: (o) => o.sqlstate === '25P02' },
  { reason: 'constraint violations are PostgreSQL\'s', test: (o) => o.sqlstate.startsWith('23') },
  { reason: 'a type that does not exist', test: (o) => o.sqlstate === '42704' && /^type "baseline_mood"/.test(o.message) },
  { reason: 'PostgreSQL 16 has no lc_collate', test: (o) => o.message.startsWith('unrecognized configuration parameter') },
  { reason: 'PostgreSQL\'s grammar has no qualified index names', test: (o) => o.sqlstate === '42601' },
  { reason: 'sys.wait_for_job is a procedure upstream too', test: (o) => o.sqlstate === '42809' },
  { reason: 'PostgreSQL refuses subqueries in CALL', test: (o) => o.message === 'cannot use subquery in CALL argument' },
  { reason: 'sys.wait_for_job checks the job id upstream', test: (o) => o.message === 'Unable to convert text to UUID' },
  { reason: 'the primary key check runs upstream (needs the catalog)', test: (o) => o.message.startsWith('cannot drop primary key column'), via: /assert_droppable_columns/ },
  { reason: 'the row cap is applied on CommandComplete (see session.test.ts)', test: (o) => o.sqlstate === '54000' },
  { reason: 'whether the async index job is still running is checked upstream', test: (o) => o.sqlstate === '55000', via: /assert_index_built/ },
];

/** The transaction status after a step, as the recording shows it. */
function nextStatus(status: TxStatus, obs: GoldenObservation): TxStatus {
  if (obs.outcome === 'error') return status === 'I' ? 'I' : 'E';
  let next = status;
  for (const tag of observedTags(obs)) {
    if (tag === 'BEGIN') next = 'T';
    if (tag === 'COMMIT' || tag === 'ROLLBACK') next = 'I';
  }
  return next;
}

const rules = createDsqlRules();
beforeAll(() => rules.ready());

const withSteps = loadGolden().filter((f) => f.cases.some((c) => c.steps));

describe.each(withSteps.map((f) => [f.file, f.cases] as const))('%s', (_file, cases) => {
  const stepped = cases.filter((c) => c.steps);
  it.each(stepped.map((c) => [c.name, c] as const))('%s', (_name, golden) => {
    const session = rules.newSession();
    let status: TxStatus = 'I';
    golden.steps!.forEach((sql, i) => {
      const obs = golden.observations![i]!;
      const decision: SqlDecision = session.onSql(sql, { protocol: 'simple', txStatus: status });
      const where = `${golden.name} step ${i + 1}: ${sql}`;
      if (obs.outcome === 'error') {
        if (decision.kind === 'refuse') {
          expect({ where, code: decision.error.code, message: decision.error.message }).toEqual({
            where,
            code: obs.sqlstate,
            message: obs.message,
          });
        } else {
          const upstream = ANSWERED_UPSTREAM.find((u) => u.test(obs));
          expect({ where, refusalMissing: upstream ? undefined : `${obs.sqlstate} ${obs.message}` }).toEqual({
            where,
            refusalMissing: undefined,
          });
          if (upstream?.via) expect({ where, sql: decision.sql }).toEqual({ where, sql: expect.stringMatching(upstream.via) });
        }
      } else {
        expect({ where, decision: decision.kind }).toEqual({ where, decision: 'forward' });
        if (decision.kind === 'forward' && (decision.commandTag || decision.commandTags)) {
          const tags = observedTags(obs);
          const overrides = decision.commandTags ?? [decision.commandTag];
          overrides.forEach((tag, k) => tag && expect({ where, tag }).toEqual({ where, tag: tags[k] }));
        }
      }
      status = nextStatus(status, obs);
      session.onReadyForQuery?.(status);
    });
  });
});
