/**
 * What Aurora DSQL makes of one migration statement: the statements `migrate()` runs for it
 * (each in its own transaction), or why DSQL would refuse it and how to fix the schema.
 * What DSQL refuses comes from core's rules catalogue (`@dsql/core/rules`, shared with
 * `@dsql/local` and the Kysely compiler); what is Drizzle's here is the wording of each fix
 * and the rewrites `migrate()` makes. Pure, reads the libpg-query tree.
 */
import type { MigrationStep } from '@dsql/core/migrations';
import { alterTableForm, isIdentityType, SERIAL_TYPES, sequenceCacheAllowed, typeRule, unsupportedStatement } from '@dsql/core/rules';
import { asyncIndex, quoteIdent, relationName, type Node, type ParsedStatement } from './statements.js';

/** One statement `migrate()` sends, in its own transaction. */
export type Step = MigrationStep;

/** Why a statement cannot run on DSQL as written, and what to do instead. */
export interface Refusal {
  /** What DSQL would answer (or what is wrong), in a sentence. */
  message: string;
  /** How to change the Drizzle schema or the migration. */
  fix: string;
}

/** The verdict on one statement. */
export type Verdict =
  | { ok: true; steps: Step[]; /** Set when the statement is rewritten: what was changed and why. */ rewrite?: string }
  | ({ ok: false } & Refusal);

const run = (sql: string, job = false): Step => ({ sql, job });
const refuse = (message: string, fix: string): Verdict => ({ ok: false, message, fix });

/** A built-in type the catalogue knows and DSQL does not store in a column (runtime-only or absent). */
const notAColumnType = (name: string): boolean => {
  const rule = typeRule(name);
  return rule !== undefined && rule.support !== 'column';
};

const SERIAL_FIX =
  "Use a UUID key — uuid('id').primaryKey().defaultRandom() — or an identity column DSQL accepts: " +
  "bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity({ cache: 1 }) (bigint, CACHE 1 or ≥ 65536).";
const ENUM_FIX =
  "Replace pgEnum with a text column typed in TypeScript: text('status', { enum: ['a', 'b'] }) " +
  '(add a CHECK constraint in the CREATE TABLE if the database must enforce the values).';
const TXN_FIX = 'Remove it: migrate() runs every statement in its own transaction, as DSQL requires (one DDL per transaction).';

/** The type's own name, whether it is a built-in, and whether it is an array. */
function typeOf(typeName: Node): { names: string[]; name: string; builtin: boolean; array: boolean } {
  const names: string[] = (typeName?.names ?? []).map((n: Node) => String(n?.String?.sval ?? ''));
  const name = names[names.length - 1] ?? '';
  return { names, name, builtin: names.length === 1 || (names.length === 2 && names[0] === 'pg_catalog'), array: (typeName?.arrayBounds ?? []).length > 0 };
}

function cacheOf(options: Node[] | undefined): number | undefined {
  const cache = (options ?? []).find((o: Node) => o?.DefElem?.defname === 'cache')?.DefElem;
  if (!cache) return undefined;
  return cache.arg?.Integer?.ival ?? Number(cache.arg?.Float?.fval ?? NaN);
}

/** The refusal for a column definition, if any. */
function columnRefusal(column: Node): Verdict | undefined {
  const name = String(column?.colname ?? '?');
  const type = typeOf(column?.typeName);
  if (type.builtin && SERIAL_TYPES.has(type.name) && !type.array) {
    return refuse(`column "${name}" is ${type.name.toUpperCase()}: DSQL has no serial types (type "${type.name}" does not exist).`, SERIAL_FIX);
  }
  if (type.array) {
    return refuse(
      `column "${name}" is an array (${type.name}[]): DSQL does not store array columns.`,
      'Store the values in a child table (one row per element), or as text/JSON text that the application encodes.',
    );
  }
  if (type.builtin && notAColumnType(type.name)) {
    return refuse(`column "${name}" has type ${type.name}, which DSQL does not store.`, 'Use a supported type (text, varchar, numeric, bigint, uuid, timestamptz, bytea, boolean, …).');
  }
  for (const c of column?.constraints ?? []) {
    const constraint = c?.Constraint;
    if (constraint?.contype !== 'CONSTR_IDENTITY') continue;
    if (!isIdentityType(type)) {
      return refuse(
        `identity column "${name}" is ${type.name}: DSQL identity columns must be bigint.`,
        "Declare it as bigint('…', { mode: 'number' }).generatedAlwaysAsIdentity({ cache: 1 }), or use a UUID key.",
      );
    }
    if (!sequenceCacheAllowed(cacheOf(constraint.options))) {
      return refuse(
        `identity column "${name}" has no explicit CACHE of 1 or ≥ 65536, which DSQL requires.`,
        'Pass the cache to Drizzle: .generatedAlwaysAsIdentity({ cache: 1 }) (or ≥ 65536 for high insert rates).',
      );
    }
  }
  return undefined;
}

function createTable(s: ParsedStatement): Verdict {
  const persistence = s.stmt.relation?.relpersistence;
  if (persistence === 't') return refuse('DSQL has no temporary tables.', 'Create a regular table, or keep the data in the application.');
  if (persistence === 'u') return refuse('DSQL has no unlogged tables.', 'Drop UNLOGGED: every DSQL table is durable.');
  for (const element of s.stmt.tableElts ?? []) {
    if (!element?.ColumnDef) continue;
    const refusal = columnRefusal(element.ColumnDef);
    if (refusal) return refusal;
  }
  return { ok: true, steps: [run(s.text)] };
}

/**
 * `text` followed by `clause`. A statement that ends in a `-- comment` (the parser's extent of the
 * last statement of a chunk includes it) gets the clause on a new line, out of the comment.
 */
function appendClause(text: string, clause: string): string {
  return /--|\/\*/.test(text) ? `${text}\n${clause}` : `${text} ${clause}`;
}

/** `ADD CONSTRAINT … FOREIGN KEY / CHECK` → `… NOT VALID`, then `ALTER TABLE ASYNC … VALIDATE CONSTRAINT`. */
function validateLater(s: ParsedStatement, constraint: Node): Verdict {
  const kind = constraint.contype === 'CONSTR_FOREIGN' ? 'FOREIGN KEY' : 'CHECK';
  if (!constraint.conname) {
    return refuse(
      `an unnamed ${kind} constraint added to an existing table: DSQL adds it only NOT VALID and validates it by name.`,
      `Name the constraint (ADD CONSTRAINT "name" ${kind} …), or append NOT VALID and validate it with ALTER TABLE ASYNC … VALIDATE CONSTRAINT.`,
    );
  }
  const table = relationName(s.stmt.relation);
  return {
    ok: true,
    rewrite: `DSQL adds a ${kind} constraint to an existing table only NOT VALID: added NOT VALID, then validated with ALTER TABLE ASYNC (awaited).`,
    steps: [run(appendClause(s.text, 'NOT VALID')), run(`ALTER TABLE ASYNC ${table} VALIDATE CONSTRAINT ${quoteIdent(constraint.conname)}`, true)],
  };
}

/** `ADD CONSTRAINT name UNIQUE (cols)` → a unique index built ASYNC, then adopted as the constraint. */
function uniqueByIndex(s: ParsedStatement, constraint: Node): Verdict {
  const keys: string[] = (constraint.keys ?? []).map((k: Node) => String(k?.String?.sval ?? ''));
  const plain = !constraint.including?.length && !constraint.options?.length && !constraint.nulls_not_distinct && !constraint.indexspace;
  if (!constraint.conname || keys.length === 0 || !plain) {
    return refuse(
      'ADD CONSTRAINT … UNIQUE on an existing table: DSQL adds a unique constraint only by adopting a unique index.',
      'Write CREATE UNIQUE INDEX ASYNC "name" ON table (columns), then ALTER TABLE table ADD CONSTRAINT "name" UNIQUE USING INDEX "name".',
    );
  }
  const table = relationName(s.stmt.relation);
  const name = quoteIdent(constraint.conname);
  return {
    ok: true,
    rewrite: 'DSQL adds a UNIQUE constraint to an existing table only by adopting an index: built CREATE UNIQUE INDEX ASYNC (awaited), then ADD CONSTRAINT … UNIQUE USING INDEX.',
    steps: [
      run(`CREATE UNIQUE INDEX ASYNC ${name} ON ${table} (${keys.map(quoteIdent).join(', ')})`, true),
      run(`ALTER TABLE ${table} ADD CONSTRAINT ${name} UNIQUE USING INDEX ${name}`),
    ],
  };
}

/** ADD COLUMN: DSQL adds a column only bare (no constraint, no default), of a type it stores. */
function addColumnRefusal(column: Node): Verdict | undefined {
  if (!column) return undefined;
  if (column.constraints?.length) {
    return refuse(
      `ADD COLUMN "${column.colname}" with a constraint or default (NOT NULL, DEFAULT, UNIQUE, REFERENCES…): DSQL adds columns only bare.`,
      'Add the column without .notNull()/.default()/.unique()/.references() (nullable, no default), backfill it in batches of at most 3,000 rows, ' +
        'then set the default in a later migration (ALTER COLUMN … SET DEFAULT, which DSQL supports) and enforce the rest in the application ' +
        '(or with CHECK … NOT VALID constraints).',
    );
  }
  return columnRefusal(column);
}

function alterTable(s: ParsedStatement): Verdict {
  if (s.stmt.objtype !== 'OBJECT_TABLE') return { ok: true, steps: [run(s.text)] };
  const cmds: Node[] = (s.stmt.cmds ?? []).map((c: Node) => c?.AlterTableCmd).filter(Boolean);
  for (const cmd of cmds) {
    switch (cmd.subtype) {
      case 'AT_AddColumn': {
        const refusal = addColumnRefusal(cmd.def?.ColumnDef);
        if (refusal) return refusal;
        break;
      }
      case 'AT_AddConstraint': {
        const constraint = cmd.def?.Constraint;
        const type = constraint?.contype;
        if ((type === 'CONSTR_FOREIGN' || type === 'CONSTR_CHECK') && !constraint.skip_validation) {
          if (cmds.length !== 1) {
            return refuse(
              `${type === 'CONSTR_FOREIGN' ? 'FOREIGN KEY' : 'CHECK'} constraint added among other ALTER TABLE actions: DSQL adds it only NOT VALID, then validates it asynchronously.`,
              'Put the constraint in its own ALTER TABLE … ADD CONSTRAINT statement (migrate() then adds it NOT VALID and validates it).',
            );
          }
          return validateLater(s, constraint);
        }
        if (type === 'CONSTR_UNIQUE' && !constraint.indexname) {
          if (cmds.length !== 1) break; // reported below as an unsupported ADD CONSTRAINT
          return uniqueByIndex(s, constraint);
        }
        if ((type === 'CONSTR_FOREIGN' || type === 'CONSTR_CHECK') && constraint.skip_validation) break;
        // The ALTER TABLE page lists `UNIQUE USING INDEX` only, not PRIMARY KEY USING INDEX.
        if (type === 'CONSTR_UNIQUE' && constraint.indexname) break;
        return refuse(
          `ALTER TABLE … ADD CONSTRAINT (${String(type ?? 'constraint').replace('CONSTR_', '')}) on an existing table is not supported by DSQL.`,
          type === 'CONSTR_PRIMARY'
            ? 'Declare the primary key in CREATE TABLE: DSQL cannot add or change a primary key later (create a new table and copy the rows).'
            : 'Declare the constraint when the table is created, or use a unique index (CREATE UNIQUE INDEX ASYNC) instead.',
        );
      }
      case 'AT_ValidateConstraint':
        if (!s.async) {
          return { ok: true, rewrite: 'DSQL validates constraints asynchronously: sent as ALTER TABLE ASYNC … VALIDATE CONSTRAINT (awaited).', steps: [run(s.text.replace(/^ALTER\s+TABLE\s+/i, 'ALTER TABLE ASYNC '), true)] };
        }
        return { ok: true, steps: [run(s.text.replace(/^ALTER\s+TABLE\s+/i, 'ALTER TABLE ASYNC '), true)] };
      // An identity added or altered later follows the same CACHE rule as one in CREATE TABLE.
      case 'AT_AddIdentity':
      case 'AT_SetIdentity': {
        const options: Node[] = cmd.subtype === 'AT_AddIdentity' ? (cmd.def?.Constraint?.options ?? []) : (cmd.def?.List?.items ?? []);
        const needsCache = cmd.subtype === 'AT_AddIdentity' || options.some((o: Node) => o?.DefElem?.defname === 'cache');
        if (needsCache && !sequenceCacheAllowed(cacheOf(options))) {
          return refuse(
            `identity on column "${String(cmd.name ?? '?')}" without an explicit CACHE of 1 or ≥ 65536, which DSQL requires.`,
            'Pass the cache to Drizzle: .generatedAlwaysAsIdentity({ cache: 1 }) (or ≥ 65536 for high insert rates).',
          );
        }
        break;
      }
      case 'AT_SetNotNull': {
        // drizzle-kit writes it for .notNull() added to an existing column: the fix is a CHECK.
        const form = alterTableForm('AT_SetNotNull');
        if (!form || form.supported) break;
        return refuse(
          `ALTER TABLE … ${form.words} ("${String(cmd.name ?? '?')}"): DSQL does not support this form (it can DROP NOT NULL, not add it).`,
          `Keep the column nullable and add a check instead — ALTER TABLE … ADD CONSTRAINT "name" CHECK ("${String(cmd.name ?? 'column')}" IS NOT NULL) ` +
            '(migrate() adds it NOT VALID and validates it) — or create a new table with the column NOT NULL and copy the rows.',
        );
      }
      case 'AT_AlterColumnType':
        return refuse(
          `ALTER COLUMN "${String(cmd.name ?? '?')}" SET DATA TYPE: DSQL cannot change a column's type.`,
          'Add a new column of the new type, backfill it in batches, switch the application over, then drop the old column.',
        );
      default: {
        // Any other form the catalogue lists as one DSQL lacks (SET EXPRESSION, row level security, …).
        const form = alterTableForm(String(cmd.subtype));
        if (form && !form.supported) {
          return refuse(
            `ALTER TABLE … ${form.words}: DSQL does not support this form of ALTER TABLE.`,
            'Declare it when the table is created, or create a new table with the new definition and copy the rows in batches of at most 3,000.',
          );
        }
        break;
      }
    }
  }
  return { ok: true, steps: [run(s.text)] };
}

function transactionStatement(s: ParsedStatement): Verdict {
  const kind = String(s.stmt.kind ?? '').replace('TRANS_STMT_', '');
  return refuse(`${kind.replace('_', ' ')} inside a migration file.`, TXN_FIX);
}

const UNSUPPORTED: Record<string, Refusal> = {
  TruncateStmt: { message: 'DSQL does not support TRUNCATE.', fix: 'Use DELETE FROM in batches of at most 3,000 rows, or drop and recreate the table.' },
  CreateExtensionStmt: { message: 'DSQL does not support extensions.', fix: 'Remove CREATE EXTENSION; gen_random_uuid() is built in.' },
  CreateEnumStmt: { message: 'DSQL does not support CREATE TYPE (enums).', fix: ENUM_FIX },
  AlterEnumStmt: { message: 'DSQL does not support ALTER TYPE.', fix: ENUM_FIX },
  CompositeTypeStmt: { message: 'DSQL does not support CREATE TYPE.', fix: 'Use columns (or a child table) instead of a composite type.' },
  CreateTrigStmt: { message: 'DSQL does not support triggers.', fix: 'Do the work in the application, inside the same transaction.' },
  DoStmt: {
    message: 'DSQL does not support DO blocks (PL/pgSQL).',
    fix: 'Write the statement inside the DO block as a plain statement (older drizzle-kit versions wrapped constraints and enums in DO … EXCEPTION blocks; regenerate with a current drizzle-kit).',
  },
  CreateTableAsStmt: { message: 'DSQL does not support CREATE TABLE AS / materialized views.', fix: 'CREATE TABLE first, then INSERT … SELECT in batches of at most 3,000 rows (use a regular view for a derived result).' },
  RefreshMatViewStmt: { message: 'DSQL has no materialized views.', fix: 'Use a regular view or a table maintained by the application.' },
  MergeStmt: { message: 'DSQL does not support MERGE.', fix: 'Use INSERT … ON CONFLICT, or UPDATE and INSERT.' },
  CreatePLangStmt: { message: 'DSQL does not support procedural languages.', fix: 'Remove it.' },
  ListenStmt: { message: 'DSQL does not support LISTEN/NOTIFY.', fix: 'Remove it.' },
  NotifyStmt: { message: 'DSQL does not support LISTEN/NOTIFY.', fix: 'Remove it.' },
  CreatedbStmt: { message: 'DSQL has one database per cluster.', fix: 'Remove CREATE DATABASE; use schemas (up to 10) instead.' },
  CreateTableSpaceStmt: { message: 'DSQL has no tablespaces.', fix: 'Remove it.' },
};

/**
 * The verdict on one parsed statement: what `migrate()` runs for it, or why DSQL refuses it.
 *
 * @example
 * judge(parseChunk('CREATE INDEX "i" ON "t" ("a")')[0]!);
 * // → { ok: true, steps: [{ sql: 'CREATE INDEX ASYNC "i" ON "t" ("a")', job: true }], rewrite: '…' }
 */
export function judge(s: ParsedStatement): Verdict {
  switch (s.node) {
    case 'CreateStmt':
      return createTable(s);
    case 'IndexStmt':
      return s.async
        ? { ok: true, steps: [run(asyncIndex(s.text), true)] }
        : {
            ok: true,
            rewrite: `DSQL builds indexes asynchronously: sent as CREATE INDEX ASYNC${s.stmt.concurrent ? ' (CONCURRENTLY removed)' : ''} and awaited.`,
            steps: [run(asyncIndex(s.text), true)],
          };
    case 'AlterTableStmt':
      return alterTable(s);
    case 'TransactionStmt':
      return transactionStatement(s);
    case 'CreateSeqStmt':
      return sequenceCacheAllowed(cacheOf(s.stmt.options))
        ? { ok: true, steps: [run(s.text)] }
        : refuse('CREATE SEQUENCE without CACHE 1 or CACHE ≥ 65536, which DSQL requires.', 'Add CACHE 1 (or CACHE 65536 or more) to the sequence, or use UUID keys.');
    case 'VacuumStmt':
      return s.stmt.is_vacuumcmd ? refuse('DSQL does not support VACUUM.', 'Remove it: DSQL needs no vacuuming.') : { ok: true, steps: [run(s.text)] };
    case 'DefineStmt':
      return s.stmt.kind === 'OBJECT_TYPE' ? refuse('DSQL does not support CREATE TYPE.', ENUM_FIX) : { ok: true, steps: [run(s.text)] };
    case 'DropStmt':
      return s.stmt.removeType === 'OBJECT_TYPE'
        ? refuse('DSQL does not support DROP TYPE (it has no user-defined types).', 'Remove the statement (its CREATE TYPE could not have run on DSQL).')
        : { ok: true, steps: [run(s.text)] };
    case 'CreateFunctionStmt': {
      const language = (s.stmt.options ?? []).find((o: Node) => o?.DefElem?.defname === 'language')?.DefElem?.arg?.String?.sval as string | undefined;
      return language === undefined || language.toLowerCase() === 'sql'
        ? { ok: true, steps: [run(s.text)] }
        : refuse(`DSQL does not support functions in ${language}.`, 'Write the function in LANGUAGE sql, or move the logic to the application.');
    }
    case 'VariableSetStmt': {
      const name = String(s.stmt.name ?? '');
      return name === 'TRANSACTION' || name === 'SESSION CHARACTERISTICS' || /^(default_)?transaction_isolation$/i.test(name)
        ? refuse(`SET ${name}: DSQL runs every transaction at REPEATABLE READ and refuses SET TRANSACTION.`, TXN_FIX)
        : { ok: true, steps: [run(s.text)] };
    }
    case 'SelectStmt':
      return s.stmt.intoClause ? refuse(UNSUPPORTED.CreateTableAsStmt!.message, UNSUPPORTED.CreateTableAsStmt!.fix) : { ok: true, steps: [run(s.text)] };
    default: {
      const refusal = UNSUPPORTED[s.node];
      if (refusal) return { ok: false, ...refusal };
      // Every other statement kind the catalogue lists as refused outright (LOCK, CREATE POLICY, …).
      const statement = unsupportedStatement(s.node);
      return statement ? refuse(`DSQL does not support ${statement.statement}.`, 'Remove it from the migration.') : { ok: true, steps: [run(s.text)] };
    }
  }
}
