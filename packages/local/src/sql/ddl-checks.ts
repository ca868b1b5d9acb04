/**
 * DSQL's rules for the DDL it takes with restrictions — CREATE TABLE, ALTER TABLE, CREATE INDEX,
 * CREATE SEQUENCE, CREATE FUNCTION — applied to libpg-query's tree. What is allowed comes from
 * `@dsql/core/rules`; this module reads the nodes.
 */
import { alterTableForm, INDEX_ACCESS_METHOD, sequenceCacheAllowed } from '@dsql/core/rules';
import { columnTypeRefusal, formatTypeName, isBigint, type TypeNameNode } from './column-types.js';
import type { SqlError } from './hook.js';
import { dsqlErrors } from './messages.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Node = any;

/** The `CACHE n` of a sequence's or identity's options, if given. */
function cacheOf(options: Node[] | undefined): number | undefined {
  const cache = (options ?? []).find((o: Node) => o.DefElem?.defname === 'cache')?.DefElem;
  if (!cache) return undefined;
  return cache.arg?.Integer?.ival ?? Number(cache.arg?.Float?.fval ?? NaN);
}

/** Refusal for one column definition of CREATE TABLE / ALTER TABLE ADD COLUMN. */
function columnRefusal(column: Node): SqlError | undefined {
  const typeName: TypeNameNode | undefined = column.typeName;
  const typeRefusal = typeName ? columnTypeRefusal(typeName) : undefined;
  if (typeRefusal) return typeRefusal;
  if (column.collClause) return dsqlErrors.createTableClause('COLLATE');
  for (const c of column.constraints ?? []) {
    const constraint = c.Constraint;
    if (constraint?.contype === 'CONSTR_IDENTITY') {
      if (typeName && !isBigint(typeName)) return dsqlErrors.identityType(formatTypeName(typeName));
      if (!sequenceCacheAllowed(cacheOf(constraint.options))) return dsqlErrors.identityCache();
    }
  }
  return undefined;
}

/**
 * CREATE TABLE as DSQL takes it: no temporary, unlogged, partitioned or inheriting tables, no
 * tablespace, no COLLATE, no exclusion constraint, and only DSQL's column types.
 *
 * @example
 * createTableRefusal({ relation: { relpersistence: 't' } }); // TEMPORARY … not supported for CREATE TABLE
 */
export function createTableRefusal(stmt: Node): SqlError | undefined {
  const persistence = stmt.relation?.relpersistence;
  if (persistence === 't') return dsqlErrors.temporaryTable();
  if (persistence === 'u') return dsqlErrors.unloggedTable();
  if (stmt.partbound) return dsqlErrors.createTableClause('PARTITION OF');
  if (stmt.partspec) return dsqlErrors.createTableClause('PARTITION BY');
  if (stmt.inhRelations?.length) return dsqlErrors.createTableClause('INHERITS');
  for (const element of stmt.tableElts ?? []) {
    if (element.ColumnDef) {
      const refusal = columnRefusal(element.ColumnDef);
      if (refusal) return refusal;
    }
    if (element.Constraint?.contype === 'CONSTR_EXCLUSION') return dsqlErrors.createTableClause('EXCLUDE constraint');
  }
  if (stmt.tablespacename) return dsqlErrors.createTableClause('TABLESPACE');
  return undefined;
}

/** The options of `ALTER COLUMN … SET sequence_option …` (a `List` of `DefElem`s). */
function identityOptions(def: Node): Node[] {
  return def?.List?.items ?? [];
}

/**
 * ALTER TABLE as DSQL takes it: the forms the catalogue allows (the user guide's ALTER TABLE
 * page), a new column without constraints, constraints only `NOT VALID` (UNIQUE only by adopting
 * an index: the page lists `UNIQUE USING INDEX`, not PRIMARY KEY), validation only ASYNC, and an
 * identity added or altered with a CACHE DSQL accepts.
 *
 * @example
 * alterTableRefusal({ objtype: 'OBJECT_TABLE', cmds: [{ AlterTableCmd: { subtype: 'AT_SetNotNull' } }] }, false);
 * // → unsupported ALTER TABLE ALTER COLUMN ... SET NOT NULL statement
 */
export function alterTableRefusal(stmt: Node, isAsync: boolean): SqlError | undefined {
  if (stmt.objtype !== 'OBJECT_TABLE') return undefined;
  for (const c of stmt.cmds ?? []) {
    const cmd = c.AlterTableCmd;
    if (!cmd) continue;
    const form = alterTableForm(cmd.subtype);
    if (form && !form.supported) return dsqlErrors.alterTableForm(form.words);
    switch (cmd.subtype) {
      case 'AT_AddColumn': {
        const column = cmd.def?.ColumnDef;
        if (column?.constraints?.length) return dsqlErrors.alterTableAddColumnConstraint();
        const refusal = column ? columnRefusal(column) : undefined;
        if (refusal) return refusal;
        break;
      }
      case 'AT_AddConstraint': {
        const constraint = cmd.def?.Constraint;
        const type = constraint?.contype;
        if ((type === 'CONSTR_FOREIGN' || type === 'CONSTR_CHECK') && constraint.skip_validation) break;
        if (type === 'CONSTR_UNIQUE' && constraint.indexname) break;
        return dsqlErrors.alterTableAddConstraint();
      }
      // The CACHE rule of identity columns (CACHE 1 or >= 65536, stated) holds for one added
      // later; SET sequence_option may leave the cache as it is.
      case 'AT_AddIdentity':
        if (!sequenceCacheAllowed(cacheOf(cmd.def?.Constraint?.options))) return dsqlErrors.identityCache();
        break;
      case 'AT_SetIdentity': {
        const options = identityOptions(cmd.def);
        if (options.some((o: Node) => o.DefElem?.defname === 'cache') && !sequenceCacheAllowed(cacheOf(options))) {
          return dsqlErrors.identityCache();
        }
        break;
      }
      case 'AT_ValidateConstraint':
        if (!isAsync) return dsqlErrors.alterTableValidate();
        break;
      default:
        break;
    }
  }
  return undefined;
}

/**
 * CREATE INDEX as DSQL takes it: `ASYNC` (recorded), B-tree, no `CONCURRENTLY`, no explicit
 * `ASC` / `DESC` (NULLS FIRST / LAST, UNIQUE, INCLUDE, expressions and WHERE are fine).
 *
 * @example
 * indexRefusal({ accessMethod: 'btree', indexParams: [] }, false); // unsupported mode. please use CREATE INDEX ASYNC.
 */
export function indexRefusal(stmt: Node, isAsync: boolean): SqlError | undefined {
  if (!isAsync) return dsqlErrors.createIndexSync();
  if (stmt.concurrent) return dsqlErrors.createIndexOption('CONCURRENTLY');
  const method = String(stmt.accessMethod ?? INDEX_ACCESS_METHOD).toLowerCase();
  if (method !== INDEX_ACCESS_METHOD) return dsqlErrors.indexAccessMethod(method);
  for (const p of stmt.indexParams ?? []) {
    const ordering = p.IndexElem?.ordering;
    if (ordering === 'SORTBY_ASC') return dsqlErrors.createIndexOption('ASC');
    if (ordering === 'SORTBY_DESC') return dsqlErrors.createIndexOption('DESC');
  }
  return undefined;
}

/**
 * CREATE SEQUENCE as DSQL takes it: `CACHE 1` or `CACHE >= 65536`, of type bigint.
 *
 * @example
 * sequenceRefusal({ options: [] }); // CREATE SEQUENCE is not supported without an explicit cache size. …
 */
export function sequenceRefusal(stmt: Node): SqlError | undefined {
  if (!sequenceCacheAllowed(cacheOf(stmt.options))) return dsqlErrors.sequenceCache();
  const type: TypeNameNode | undefined = (stmt.options ?? []).find((o: Node) => o.DefElem?.defname === 'as')?.DefElem?.arg
    ?.TypeName;
  if (type && !isBigint(type)) return dsqlErrors.sequenceType(formatTypeName(type));
  return undefined;
}

/**
 * CREATE FUNCTION / PROCEDURE: only `LANGUAGE sql`.
 *
 * @example
 * createFunctionRefusal({ options: [{ DefElem: { defname: 'language', arg: { String: { sval: 'plpgsql' } } } }] });
 */
export function createFunctionRefusal(stmt: Node): SqlError | undefined {
  const language = (stmt.options ?? []).find((o: Node) => o.DefElem?.defname === 'language')?.DefElem
    ?.arg?.String?.sval as string | undefined;
  if (language === undefined || language.toLowerCase() === 'sql') return undefined;
  return dsqlErrors.functionLanguage(stmt.is_procedure ? 'PROCEDURE' : 'FUNCTION', language);
}
