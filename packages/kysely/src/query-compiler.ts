import { DsqlConfigError, DsqlUnsupportedError } from '@dsql/core';
import { IDENTITY_TYPE, LOCKING_CLAUSES, MIN_SEQUENCE_CACHE, SERIAL_TYPES, sequenceCacheAllowed, typeRule } from '@dsql/core/rules';
import { PostgresQueryCompiler } from 'kysely';
import type { AddColumnNode, ColumnDefinitionNode, CreateIndexNode, DataTypeNode, GeneratedNode, SelectModifierNode } from 'kysely';

/**
 * Options of {@link DsqlQueryCompiler}.
 *
 * @example
 * new DsqlQueryCompiler({ identityCache: 65536 });
 */
export interface DsqlQueryCompilerOptions {
  /**
   * `CACHE` of identity columns (`generatedAlwaysAsIdentity()`, `generatedByDefaultAsIdentity()`):
   * DSQL requires an explicit `1` or `>= 65536`. Default `1` (PostgreSQL's own default, so ids
   * stay dense); a large cache hands out ids faster but with gaps.
   */
  identityCache?: number;
}

// DSQL's rules from core's catalogue: the serial pseudo-types (core's SERIAL_TYPES), the one
// identity type under both its names, the identity CACHE rule, the locking clauses it refuses.
const IDENTITY_TYPES = new Set([IDENTITY_TYPE, typeRule(IDENTITY_TYPE)?.display ?? IDENTITY_TYPE]);
const REFUSED_LOCKING = new Set(LOCKING_CLAUSES.filter((c) => !c.supported).map((c) => c.words));
/** Kysely's select modifier (`ForNoKeyUpdate`) in the catalogue's words (`FOR NO KEY UPDATE`). */
const lockingWords = (modifier: string): string => modifier.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();

/**
 * Validates the `identityCache` option.
 *
 * @example
 * checkIdentityCache(undefined) // 1
 */
export function checkIdentityCache(value: unknown): number {
  if (value === undefined) return 1;
  if (typeof value === 'number' && Number.isSafeInteger(value) && sequenceCacheAllowed(value)) return value;
  throw new DsqlConfigError('identityCache', String(value), `1 or an integer >= ${MIN_SEQUENCE_CACHE} (DSQL accepts no other identity CACHE)`);
}

/**
 * Kysely's PostgreSQL compiler, with what Aurora DSQL needs:
 * - `db.schema.createIndex(…)` compiles to `CREATE [UNIQUE] INDEX ASYNC …` (DSQL refuses the
 *   synchronous form); the statement answers a `job_id`, which the driver waits for;
 * - identity columns get the explicit `CACHE` DSQL requires (`identityCache`, default 1), and an
 *   identity column that is not `bigint` fails at once;
 * - `serial` types, `ADD COLUMN` with a default or constraint, `forShare()` and
 *   `forNoKeyUpdate()` fail at once with a
 *   `DsqlUnsupportedError` that says what to use instead — before anything reaches the server.
 *
 * @example
 * const compiled = db.schema.createIndex('orders_by_user').on('orders').column('user_id').compile();
 * compiled.sql // 'create index async "orders_by_user" on "orders" ("user_id")'
 */
export class DsqlQueryCompiler extends PostgresQueryCompiler {
  readonly #identityCache: number;
  /** Set while a CREATE INDEX is compiled, until its `index ` keyword has been written. */
  #asyncIndexPending = false;

  constructor(options: DsqlQueryCompilerOptions = {}) {
    super();
    this.#identityCache = checkIdentityCache(options.identityCache);
  }

  // Kysely writes `create [unique] index [if not exists] …` in one visitor method. Rather than
  // re-implement it (and fall behind when Kysely adds index options), the one `index ` token it
  // writes for this node is rewritten to `index async ` by `append` below.
  protected override visitCreateIndex(node: CreateIndexNode): void {
    this.#asyncIndexPending = true;
    try {
      super.visitCreateIndex(node);
    } finally {
      this.#asyncIndexPending = false;
    }
  }

  protected override append(str: string): void {
    if (this.#asyncIndexPending && str === 'index ') {
      this.#asyncIndexPending = false;
      super.append('index async ');
      return;
    }
    super.append(str);
  }

  protected override visitDataType(node: DataTypeNode): void {
    const type = String(node.dataType).toLowerCase();
    if (SERIAL_TYPES.has(type)) {
      throw new DsqlUnsupportedError(
        'serial columns',
        `Column type "${node.dataType}" is not supported by Aurora DSQL (it has no serial types). Use a uuid key ` +
          "(`.addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))`), or a bigint " +
          "identity (`.addColumn('id', 'bigint', (c) => c.generatedByDefaultAsIdentity().primaryKey())`).",
      );
    }
    super.visitDataType(node);
  }

  protected override visitColumnDefinition(node: ColumnDefinitionNode): void {
    if (node.generated?.identity && node.dataType.kind === 'DataTypeNode') {
      const type = String((node.dataType as DataTypeNode).dataType).toLowerCase();
      if (!IDENTITY_TYPES.has(type)) {
        throw new DsqlUnsupportedError(
          'identity columns',
          `Identity column "${node.column.column.name}" is ${type}; Aurora DSQL requires identity columns to be bigint. Use 'bigint'.`,
        );
      }
    }
    super.visitColumnDefinition(node);
  }

  protected override visitAddColumn(node: AddColumnNode): void {
    const c = node.column;
    const parts = [
      c.defaultTo && 'a default',
      c.notNull && 'NOT NULL',
      c.primaryKey && 'PRIMARY KEY',
      c.unique && 'UNIQUE',
      c.references && 'REFERENCES',
      c.check && 'CHECK',
      c.generated && 'GENERATED',
    ].filter(Boolean);
    if (parts.length > 0) {
      const name = c.column.column.name;
      throw new DsqlUnsupportedError(
        'add column constraints',
        `ALTER TABLE … ADD COLUMN "${name}" with ${parts.join(', ')} is not supported by Aurora DSQL (a column added ` +
          `later takes no default or constraint). Add it bare (\`addColumn('${name}', type)\`), then fill it with an ` +
          `UPDATE in a migration of its own; a default can follow with \`alterColumn('${name}', (c) => c.setDefault(…))\` ` +
          '(DSQL supports ALTER COLUMN … SET DEFAULT).',
      );
    }
    super.visitAddColumn(node);
  }

  protected override visitGenerated(node: GeneratedNode): void {
    super.visitGenerated(node);
    if (node.identity) this.append(` (cache ${this.#identityCache})`);
  }

  protected override visitSelectModifier(node: SelectModifierNode): void {
    const modifier = node.modifier;
    if (modifier !== undefined && REFUSED_LOCKING.has(lockingWords(modifier))) {
      const used = `${modifier.charAt(0).toLowerCase()}${modifier.slice(1)}()`; // forShare(), forNoKeyUpdate()
      throw new DsqlUnsupportedError(
        'locking clauses',
        `${used} is not supported by Aurora DSQL (only FOR UPDATE and FOR KEY SHARE are). Use forUpdate(), which ` +
          'DSQL checks at COMMIT (a conflict fails with 40001 and is retried by transaction()).',
      );
    }
    super.visitSelectModifier(node);
  }
}
