/**
 * The verdict on one parsed statement: what to run for it on DSQL (each step in its own
 * transaction, rewritten where DSQL needs another form), or why DSQL refuses it and how to fix it.
 * What DSQL refuses comes from the rules catalogue (`../rules/`); this module adds the rewrites and
 * a fix for each refusal. Pure: reads the libpg-query tree.
 */
import { CREATE_TABLE_CLAUSES, INDEX_ACCESS_METHOD } from '../rules/clauses.js';
import { unsupportedStatement } from '../rules/statements.js';
import { isIdentityType } from '../rules/type-names.js';
import { sequenceCacheAllowed } from '../rules/types.js';
import { alterTable } from './alter-table.js';
import { cacheOf, columnRefusal, typeOf } from './columns.js';
import { asyncIndex, type Node, type ParsedStatement } from './parse.js';
import { refuse, run, type LintFixes, type LintRefusal, type LintVerdict } from './verdict.js';

const ENUM_FIX = "Use a text column with a CHECK constraint listing the values (CHECK (status IN ('a', 'b'))).";
const TXN_FIX = 'Remove it: run every statement in its own transaction, as DSQL requires (one DDL per transaction).';
const MATVIEW: LintRefusal = {
  rule: 'unsupported-statement',
  message: 'DSQL does not support CREATE TABLE AS / materialized views.',
  fix: 'CREATE TABLE first, then INSERT … SELECT in batches of at most 3,000 rows (use a regular view for a derived result).',
};

/** Statements refused with a message and fix of their own (the catalogue's other refused kinds get a generic one). */
const UNSUPPORTED: Record<string, LintRefusal> = {
  TruncateStmt: { rule: 'unsupported-statement', message: 'DSQL does not support TRUNCATE.', fix: 'Use DELETE FROM in batches of at most 3,000 rows, or drop and recreate the table.' },
  CreateExtensionStmt: { rule: 'unsupported-statement', message: 'DSQL does not support extensions.', fix: 'Remove CREATE EXTENSION; gen_random_uuid() is built in.' },
  CreateEnumStmt: { rule: 'enum-type', message: 'DSQL does not support CREATE TYPE (enums).', fix: ENUM_FIX },
  AlterEnumStmt: { rule: 'enum-type', message: 'DSQL does not support ALTER TYPE.', fix: ENUM_FIX },
  CompositeTypeStmt: { rule: 'user-defined-type', message: 'DSQL does not support CREATE TYPE.', fix: 'Use columns (or a child table) instead of a composite type.' },
  CreateTrigStmt: { rule: 'unsupported-statement', message: 'DSQL does not support triggers.', fix: 'Do the work in the application, inside the same transaction.' },
  DoStmt: { rule: 'do-block', message: 'DSQL does not support DO blocks (PL/pgSQL).', fix: 'Write the statements inside the DO block as plain statements.' },
  CreateTableAsStmt: MATVIEW,
  RefreshMatViewStmt: { rule: 'unsupported-statement', message: 'DSQL has no materialized views.', fix: 'Use a regular view or a table maintained by the application.' },
  MergeStmt: { rule: 'unsupported-statement', message: 'DSQL does not support MERGE.', fix: 'Use INSERT … ON CONFLICT, or UPDATE and INSERT.' },
  CreatePLangStmt: { rule: 'unsupported-statement', message: 'DSQL does not support procedural languages.', fix: 'Remove it.' },
  ListenStmt: { rule: 'unsupported-statement', message: 'DSQL does not support LISTEN/NOTIFY.', fix: 'Remove it.' },
  NotifyStmt: { rule: 'unsupported-statement', message: 'DSQL does not support LISTEN/NOTIFY.', fix: 'Remove it.' },
  CreatedbStmt: { rule: 'unsupported-statement', message: 'DSQL has one database per cluster.', fix: 'Remove CREATE DATABASE; use schemas (up to 10) instead.' },
  CreateTableSpaceStmt: { rule: 'unsupported-statement', message: 'DSQL has no tablespaces.', fix: 'Remove it.' },
};

/** How to do without each CREATE TABLE clause of the catalogue DSQL refuses (`CREATE_TABLE_CLAUSES` keys). */
const TABLE_CLAUSE_FIX: Record<string, string> = {
  partitionBy: 'Remove PARTITION BY: DSQL distributes every table itself; keep one table, with an index on the partition key.',
  partitionOf: 'Create no partitions: keep the rows in the parent table itself (DSQL distributes it).',
  inherits: 'Remove INHERITS: declare the columns in the table itself (or keep shared columns in a table joined by key).',
  tablespace: 'Remove TABLESPACE: DSQL manages storage itself.',
  collate: 'Remove COLLATE from the column (DSQL does not support it); use COLLATE in the queries that need another order.',
  exclude: 'Use a unique index (CREATE UNIQUE INDEX ASYNC), or enforce the rule in the application.',
};

/** The first CREATE TABLE clause the catalogue lists as refused (PARTITION BY / OF, INHERITS, TABLESPACE, COLLATE, EXCLUDE). */
function refusedTableClause(stmt: Node): string | undefined {
  const elements: Node[] = stmt.tableElts ?? [];
  const present: Record<string, boolean> = {
    partitionOf: Boolean(stmt.partbound),
    partitionBy: Boolean(stmt.partspec),
    // PARTITION OF names its parent in inhRelations too.
    inherits: !stmt.partbound && (stmt.inhRelations ?? []).length > 0,
    tablespace: Boolean(stmt.tablespacename),
    collate: elements.some((e) => e?.ColumnDef?.collClause),
    exclude: [...elements, ...(stmt.constraints ?? [])].some((e) => e?.Constraint?.contype === 'CONSTR_EXCLUSION'),
  };
  return CREATE_TABLE_CLAUSES.find((c) => !c.supported && present[c.key])?.key;
}

function createTable(s: ParsedStatement): LintVerdict {
  const persistence = s.stmt.relation?.relpersistence;
  if (persistence === 't') return refuse('temporary-table', 'DSQL has no temporary tables.', 'Create a regular table, or keep the data in the application.');
  if (persistence === 'u') return refuse('unlogged-table', 'DSQL has no unlogged tables.', 'Drop UNLOGGED: every DSQL table is durable.');
  const clause = refusedTableClause(s.stmt);
  if (clause) {
    const words = CREATE_TABLE_CLAUSES.find((c) => c.key === clause)!.words;
    return refuse('create-table-clause', `DSQL does not support CREATE TABLE … ${words}.`, TABLE_CLAUSE_FIX[clause]!);
  }
  for (const element of s.stmt.tableElts ?? []) {
    const refusal = element?.ColumnDef ? columnRefusal(element.ColumnDef) : undefined;
    if (refusal) return refusal;
  }
  return { ok: true, steps: [run(s.text)] };
}

function plainVerdict(s: ParsedStatement): LintVerdict {
  switch (s.node) {
    case 'CreateStmt':
      return createTable(s);
    case 'IndexStmt': {
      // The parser fills in `btree` when USING is absent.
      const method = String(s.stmt.accessMethod ?? INDEX_ACCESS_METHOD).toLowerCase();
      if (method !== INDEX_ACCESS_METHOD) {
        return refuse('index-method', `CREATE INDEX … USING ${method}: DSQL builds only B-tree indexes.`, 'Remove USING … (a B-tree index is the default), or search the data another way (a B-tree on an expression, or a search service).');
      }
      const steps = [run(asyncIndex(s.text), true)];
      return s.async
        ? { ok: true, steps }
        : { ok: true, rewrite: `DSQL builds indexes asynchronously: sent as CREATE INDEX ASYNC${s.stmt.concurrent ? ' (CONCURRENTLY removed)' : ''} and awaited.`, steps };
    }
    case 'AlterTableStmt':
      return alterTable(s);
    case 'TransactionStmt': {
      const kind = String(s.stmt.kind ?? '').replace('TRANS_STMT_', '');
      return refuse('transaction-statement', `${kind.replace('_', ' ')} inside a migration file.`, TXN_FIX);
    }
    case 'CreateSeqStmt': {
      const as = (s.stmt.options ?? []).find((o: Node) => o?.DefElem?.defname === 'as')?.DefElem?.arg?.TypeName;
      if (as && !isIdentityType(typeOf(as))) {
        return refuse('sequence-type', `CREATE SEQUENCE … AS ${typeOf(as).name}: DSQL sequences must be bigint.`, 'Remove AS … (a sequence is bigint by default) or write AS bigint.');
      }
      return sequenceCacheAllowed(cacheOf(s.stmt.options))
        ? { ok: true, steps: [run(s.text)] }
        : refuse('sequence-cache', 'CREATE SEQUENCE without CACHE 1 or CACHE ≥ 65536, which DSQL requires.', 'Add CACHE 1 (or CACHE 65536 or more) to the sequence, or use UUID keys.');
    }
    case 'VacuumStmt':
      return s.stmt.is_vacuumcmd ? refuse('vacuum', 'DSQL does not support VACUUM.', 'Remove it: DSQL needs no vacuuming.') : { ok: true, steps: [run(s.text)] };
    case 'DefineStmt':
      return s.stmt.kind === 'OBJECT_TYPE' ? refuse('enum-type', 'DSQL does not support CREATE TYPE.', ENUM_FIX) : { ok: true, steps: [run(s.text)] };
    case 'DropStmt':
      return s.stmt.removeType === 'OBJECT_TYPE'
        ? refuse('drop-type', 'DSQL does not support DROP TYPE (it has no user-defined types).', 'Remove the statement (its CREATE TYPE could not have run on DSQL).')
        : { ok: true, steps: [run(s.text)] };
    case 'CreateFunctionStmt': {
      const language = (s.stmt.options ?? []).find((o: Node) => o?.DefElem?.defname === 'language')?.DefElem?.arg?.String?.sval as string | undefined;
      return language === undefined || language.toLowerCase() === 'sql'
        ? { ok: true, steps: [run(s.text)] }
        : refuse('function-language', `DSQL does not support functions in ${language}.`, 'Write the function in LANGUAGE sql, or move the logic to the application.');
    }
    case 'VariableSetStmt': {
      const name = String(s.stmt.name ?? '');
      return name === 'TRANSACTION' || name === 'SESSION CHARACTERISTICS' || /^(default_)?transaction_isolation$/i.test(name)
        ? refuse('set-transaction', `SET ${name}: DSQL runs every transaction at REPEATABLE READ and refuses SET TRANSACTION.`, TXN_FIX)
        : { ok: true, steps: [run(s.text)] };
    }
    case 'SelectStmt':
      return s.stmt.intoClause ? { ok: false, ...MATVIEW } : { ok: true, steps: [run(s.text)] };
    default: {
      const refusal = UNSUPPORTED[s.node];
      if (refusal) return { ok: false, ...refusal };
      // Every other statement kind the catalogue lists as refused outright (LOCK, CREATE POLICY, …).
      const statement = unsupportedStatement(s.node);
      return statement ? refuse('unsupported-statement', `DSQL does not support ${statement.statement}.`, 'Remove it from the migration.') : { ok: true, steps: [run(s.text)] };
    }
  }
}

/**
 * The verdict on one parsed statement ({@link parseStatements}): the steps to run for it on DSQL,
 * each in its own transaction (`job: true`: an asynchronous job to await), with `rewrite` saying
 * what was changed — `CREATE INDEX` → `CREATE INDEX ASYNC`, a foreign key or check added to an
 * existing table → `NOT VALID` then `ALTER TABLE ASYNC … VALIDATE CONSTRAINT`, `ADD CONSTRAINT …
 * UNIQUE` → a unique index built ASYNC and adopted — or the refusal, with a fix in SQL terms that
 * `fixes` may replace per rule.
 *
 * @example
 * await loadParser();
 * judgeStatement(parseStatements('CREATE INDEX "i" ON "t" ("a")')[0]!);
 * // → { ok: true, steps: [{ sql: 'CREATE INDEX ASYNC "i" ON "t" ("a")', job: true }], rewrite: 'DSQL builds indexes asynchronously: …' }
 * judgeStatement(parseStatements('TRUNCATE t')[0]!).ok; // false
 */
export function judgeStatement(s: ParsedStatement, fixes?: LintFixes): LintVerdict {
  const verdict = plainVerdict(s);
  const fix = verdict.ok ? undefined : fixes?.[verdict.rule];
  return verdict.ok || fix === undefined ? verdict : { ...verdict, fix };
}
