// What the nested-transaction guard costs @dsql/pg: this package before the guard against now,
// side by side (method, workloads and knobs: bench/lib/nested-guard.mjs, shared with @dsql/postgres).
//
//   node packages/pg/bench/nested-guard.mjs            # 5 rounds × 1.5 s per candidate and workload
//   ROUNDS=3 SECONDS=1 node packages/pg/bench/nested-guard.mjs
//   BEFORE_REV=<git rev> node packages/pg/bench/nested-guard.mjs
//   WORKLOADS=transaction,mixed node packages/pg/bench/nested-guard.mjs   # only these
import { runNestedGuardBench } from '../../../bench/lib/nested-guard.mjs';

await runNestedGuardBench({
  pkg: 'pg',
  open: ({ DsqlPool }, options) => {
    const pool = new DsqlPool(options);
    pool.on('error', () => {});
    return pool;
  },
  query: (pool) => pool.query('SELECT 1'),
  transaction: (pool, fn) => pool.transaction(fn),
  queryIn: (tx) => tx.query('SELECT 1'),
  end: (pool) => pool.end(),
});
