// The compiler refuses what core's rules catalogue (@dsql/core/rules) says DSQL refuses: every
// SERIAL type, identity columns of another type than bigint, the locking clauses DSQL lacks.
import { Kysely } from 'kysely';
import { LOCKING_CLAUSES, SERIAL_TYPES } from '@dsql/core/rules';
import { DsqlDialect, isDsqlError } from '../src/index.js';

const neverConnects = (): never => {
  throw new Error('compiling must not connect');
};
const db = new Kysely<any>({ dialect: new DsqlDialect({ pool: neverConnects }) });

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

it.each([...SERIAL_TYPES])('a %s column fails before reaching the server', (type) => {
  const err = thrown(() => db.schema.createTable('t').addColumn('id', type as 'serial').compile());
  // Kysely itself knows only serial and bigserial as type names; the others it refuses first.
  if (type === 'serial' || type === 'bigserial') expect(isDsqlError(err, 'unsupported-feature')).toBe(true);
  else expect(String((err as Error).message)).toMatch(/invalid column data type/);
});

it('identity columns: int8 and bigint pass with the CACHE DSQL requires; integer fails', () => {
  for (const type of ['bigint', 'int8'] as const) {
    expect(db.schema.createTable('t').addColumn('id', type, (c) => c.generatedAlwaysAsIdentity()).compile().sql).toContain('(cache 1)');
  }
  expect(isDsqlError(thrown(() => db.schema.createTable('t').addColumn('id', 'integer', (c) => c.generatedAlwaysAsIdentity()).compile()), 'unsupported-feature')).toBe(true);
});

it('locking clauses: the catalogue decides which compile', () => {
  const query = db.selectFrom('t').selectAll();
  const compiled = {
    'FOR UPDATE': () => query.forUpdate().compile(),
    'FOR KEY SHARE': () => query.forKeyShare().compile(),
    'FOR NO KEY UPDATE': () => query.forNoKeyUpdate().compile(),
    'FOR SHARE': () => query.forShare().compile(),
  } as Record<string, () => unknown>;
  for (const clause of LOCKING_CLAUSES) {
    const run = compiled[clause.words]!;
    if (clause.supported) expect(() => run()).not.toThrow();
    else expect(isDsqlError(thrown(run), 'unsupported-feature')).toBe(true);
  }
});
