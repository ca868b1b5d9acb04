// What the nested-transaction guard costs @dsql/postgres: this package before the guard against
// now, side by side (method, workloads and knobs: bench/lib/nested-guard.mjs, shared with @dsql/pg).
//
//   node packages/postgres/bench/nested-guard.mjs            # 5 rounds × 1.5 s per candidate and workload
//   ROUNDS=3 SECONDS=1 node packages/postgres/bench/nested-guard.mjs
//   BEFORE_REV=<git rev> node packages/postgres/bench/nested-guard.mjs
//   WORKLOADS=transaction,mixed node packages/postgres/bench/nested-guard.mjs   # only these
import { runNestedGuardBench } from '../../../bench/lib/nested-guard.mjs';

await runNestedGuardBench({
  pkg: 'postgres',
  open: ({ dsql }, options) => dsql(options),
  query: (sql) => sql`select 1`,
  transaction: (sql, fn) => sql.begin(fn),
  queryIn: (tx) => tx`select 1`,
  end: (sql) => sql.end({ timeout: 5 }),
});
