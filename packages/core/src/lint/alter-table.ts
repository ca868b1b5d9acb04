/**
 * ALTER TABLE against the catalogue's forms (`ALTER_TABLE_FORMS`), and the rewrites that make
 * what DSQL lacks runnable: a foreign key or check added `NOT VALID` then validated ASYNC, a
 * UNIQUE constraint adopted from an index built ASYNC.
 */
import { quoteIdent } from '../migrations/session.js';
import { alterTableForm } from '../rules/clauses.js';
import { sequenceCacheAllowed } from '../rules/types.js';
import { CACHE_FIX, cacheOf, columnRefusal } from './columns.js';
import { relationName, type Node, type ParsedStatement } from './parse.js';
import { refuse, run, type LintVerdict } from './verdict.js';

/**
 * `text` followed by `clause`. A statement that ends in a `-- comment` (the parser's extent of the
 * last statement includes it) gets the clause on a new line, out of the comment.
 */
function appendClause(text: string, clause: string): string {
  return /--|\/\*/.test(text) ? `${text}\n${clause}` : `${text} ${clause}`;
}

/** `ADD CONSTRAINT … FOREIGN KEY / CHECK` → `… NOT VALID`, then `ALTER TABLE ASYNC … VALIDATE CONSTRAINT`. */
function validateLater(s: ParsedStatement, constraint: Node): LintVerdict {
  const kind = constraint.contype === 'CONSTR_FOREIGN' ? 'FOREIGN KEY' : 'CHECK';
  if (!constraint.conname) {
    return refuse(
      'unnamed-constraint',
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
function uniqueByIndex(s: ParsedStatement, constraint: Node): LintVerdict {
  const keys: string[] = (constraint.keys ?? []).map((k: Node) => String(k?.String?.sval ?? ''));
  const plain = !constraint.including?.length && !constraint.options?.length && !constraint.nulls_not_distinct && !constraint.indexspace;
  if (!constraint.conname || keys.length === 0 || !plain) {
    return refuse(
      'add-unique-constraint',
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
      run(`CREATE UNIQUE INDEX ASYNC ${name} ON ${table} (${keys.map((k) => quoteIdent(k)).join(', ')})`, true),
      run(`ALTER TABLE ${table} ADD CONSTRAINT ${name} UNIQUE USING INDEX ${name}`),
    ],
  };
}

/** ADD COLUMN: DSQL adds a column only bare (no constraint, no default), of a type it stores. */
function addColumnRefusal(column: Node): LintVerdict | undefined {
  if (!column) return undefined;
  if (column.constraints?.length) {
    return refuse(
      'add-column-constraint',
      `ADD COLUMN "${column.colname}" with a constraint or default (NOT NULL, DEFAULT, UNIQUE, REFERENCES…): DSQL adds columns only bare.`,
      'Add the column bare (nullable, no default), backfill it in batches of at most 3,000 rows, then set the default in a later ' +
        'migration (ALTER COLUMN … SET DEFAULT, which DSQL supports) and enforce the rest in the application (or with CHECK … NOT VALID constraints).',
    );
  }
  return columnRefusal(column);
}

/** ADD CONSTRAINT: what DSQL takes as is, what is rewritten, what is refused. */
function addConstraint(s: ParsedStatement, constraint: Node, alone: boolean): LintVerdict | undefined {
  const type = constraint?.contype;
  if ((type === 'CONSTR_FOREIGN' || type === 'CONSTR_CHECK') && !constraint.skip_validation) {
    if (!alone) {
      return refuse(
        'constraint-with-other-actions',
        `${type === 'CONSTR_FOREIGN' ? 'FOREIGN KEY' : 'CHECK'} constraint added among other ALTER TABLE actions: DSQL adds it only NOT VALID, then validates it asynchronously.`,
        'Put the constraint in its own ALTER TABLE … ADD CONSTRAINT statement (it is then added NOT VALID and validated).',
      );
    }
    return validateLater(s, constraint);
  }
  if (type === 'CONSTR_UNIQUE' && !constraint.indexname && alone) return uniqueByIndex(s, constraint);
  if ((type === 'CONSTR_FOREIGN' || type === 'CONSTR_CHECK') && constraint.skip_validation) return undefined;
  // The ALTER TABLE page lists `UNIQUE USING INDEX` only, not PRIMARY KEY USING INDEX.
  if (type === 'CONSTR_UNIQUE' && constraint.indexname) return undefined;
  return refuse(
    'add-constraint',
    `ALTER TABLE … ADD CONSTRAINT (${String(type ?? 'constraint').replace('CONSTR_', '')}) on an existing table is not supported by DSQL.`,
    type === 'CONSTR_PRIMARY'
      ? 'Declare the primary key in CREATE TABLE: DSQL cannot add or change a primary key later (create a new table and copy the rows).'
      : 'Declare the constraint when the table is created, or use a unique index (CREATE UNIQUE INDEX ASYNC) instead.',
  );
}

/** An identity added or altered later follows the same CACHE rule as one in CREATE TABLE. */
function identityRefusal(cmd: Node): LintVerdict | undefined {
  const options: Node[] = cmd.subtype === 'AT_AddIdentity' ? (cmd.def?.Constraint?.options ?? []) : (cmd.def?.List?.items ?? []);
  const needsCache = cmd.subtype === 'AT_AddIdentity' || options.some((o: Node) => o?.DefElem?.defname === 'cache');
  if (!needsCache || sequenceCacheAllowed(cacheOf(options))) return undefined;
  return refuse('identity-cache', `identity on column "${String(cmd.name ?? '?')}" without an explicit CACHE of 1 or ≥ 65536, which DSQL requires.`, CACHE_FIX);
}

/** The refusal (or rewrite) of one ALTER TABLE action, `undefined` when it runs as written. */
function actionVerdict(s: ParsedStatement, cmd: Node, alone: boolean): LintVerdict | undefined {
  switch (cmd.subtype) {
    case 'AT_AddColumn':
      return addColumnRefusal(cmd.def?.ColumnDef);
    case 'AT_AddConstraint':
      return addConstraint(s, cmd.def?.Constraint, alone);
    case 'AT_ValidateConstraint': {
      const steps = [run(s.text.replace(/^ALTER\s+TABLE\s+/i, 'ALTER TABLE ASYNC '), true)];
      return s.async ? { ok: true, steps } : { ok: true, rewrite: 'DSQL validates constraints asynchronously: sent as ALTER TABLE ASYNC … VALIDATE CONSTRAINT (awaited).', steps };
    }
    case 'AT_AddIdentity':
    case 'AT_SetIdentity':
      return identityRefusal(cmd);
    case 'AT_SetNotNull': {
      const form = alterTableForm('AT_SetNotNull');
      if (!form || form.supported) return undefined;
      return refuse(
        'set-not-null',
        `ALTER TABLE … ${form.words} ("${String(cmd.name ?? '?')}"): DSQL does not support this form (it can DROP NOT NULL, not add it).`,
        `Keep the column nullable and add a check instead — ALTER TABLE … ADD CONSTRAINT "name" CHECK ("${String(cmd.name ?? 'column')}" IS NOT NULL) ` +
          '(added NOT VALID, then validated with ALTER TABLE ASYNC) — or create a new table with the column NOT NULL and copy the rows.',
      );
    }
    case 'AT_AlterColumnType':
      return refuse(
        'alter-column-type',
        `ALTER COLUMN "${String(cmd.name ?? '?')}" SET DATA TYPE: DSQL cannot change a column's type.`,
        'Add a new column of the new type, backfill it in batches, switch the application over, then drop the old column.',
      );
    default: {
      // Any other form the catalogue lists as one DSQL lacks (SET EXPRESSION, row level security, …).
      const form = alterTableForm(String(cmd.subtype));
      if (!form || form.supported) return undefined;
      return refuse(
        'alter-table-form',
        `ALTER TABLE … ${form.words}: DSQL does not support this form of ALTER TABLE.`,
        'Declare it when the table is created, or create a new table with the new definition and copy the rows in batches of at most 3,000.',
      );
    }
  }
}

/** The verdict on an `AlterTableStmt`: the first action that is refused or rewritten decides. */
export function alterTable(s: ParsedStatement): LintVerdict {
  if (s.stmt.objtype === 'OBJECT_TABLE') {
    const cmds: Node[] = (s.stmt.cmds ?? []).map((c: Node) => c?.AlterTableCmd).filter(Boolean);
    for (const cmd of cmds) {
      const verdict = actionVerdict(s, cmd, cmds.length === 1);
      if (verdict) return verdict;
    }
  }
  return { ok: true, steps: [run(s.text)] };
}
