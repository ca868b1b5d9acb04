/** The DSQL rules catalogue (`@dsql/core/rules`): its answers, its sources, and that it stays parser-free. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ALTER_TABLE_FORMS,
  CREATE_INDEX_CLAUSES,
  CREATE_TABLE_CLAUSES,
  DSQL_TYPES,
  LOCKING_CLAUSES,
  RULE_SOURCES,
  UNSUPPORTED_FUNCTION_FAMILIES,
  UNSUPPORTED_STATEMENTS,
  alterTableForm,
  columnTypeRefusal,
  displayTypeName,
  dsqlRefusals,
  expressionTypeRefusal,
  isIdentityType,
  sequenceCacheAllowed,
  typeRule,
  unsupportedFunction,
  unsupportedFunctionCall,
  unsupportedStatement,
} from '../src/rules.js';

describe('column types', () => {
  it.each([
    [['money'], false, 'datatype money not supported'],
    [['pg_catalog', 'varbit'], false, 'datatype bit varying not supported'],
    [['pg_catalog', 'int4'], true, 'datatype integer[] not supported'],
    [['text'], true, 'datatype text[] not supported'],
    [['inet'], false, 'datatype inet not supported'],
    [['regclass'], false, 'datatype regclass not supported'],
    [['char'], false, 'datatype "char" not supported'],
  ])('refuses %j (array %s) as DSQL words it', (names, array, message) => {
    expect(columnTypeRefusal({ names, array })).toEqual({ code: '0A000', message });
  });

  it('answers serial with PostgreSQL’s 42704, as DSQL does', () => {
    expect(columnTypeRefusal({ names: ['bigserial'] })).toEqual({ code: '42704', message: 'type "bigserial" does not exist' });
  });

  it.each(['int2', 'int4', 'int8', 'float4', 'float8', 'numeric', 'bpchar', 'varchar', 'text', 'date', 'time', 'timetz',
    'timestamp', 'timestamptz', 'interval', 'bool', 'bytea', 'uuid', 'json', 'jsonb'])('stores %s', (name) => {
    expect(columnTypeRefusal({ names: ['pg_catalog', name] })).toBeUndefined();
  });

  it('leaves domains and schema-qualified user types to the server', () => {
    expect(columnTypeRefusal({ names: ['my_domain'] })).toBeUndefined();
    expect(columnTypeRefusal({ names: ['app', 'money'] })).toBeUndefined();
  });

  it('names types the way format_type prints them', () => {
    expect(displayTypeName({ names: ['pg_catalog', 'timestamptz'] })).toBe('timestamp with time zone');
    expect(displayTypeName({ names: ['decimal'] })).toBe('numeric');
    expect(displayTypeName({ names: ['app', 'int4'] })).toBe('int4');
  });
});

describe('types in expressions', () => {
  it('refuses only types DSQL does not have at all', () => {
    expect(expressionTypeRefusal({ names: ['xml'] })?.message).toBe('datatype xml not supported');
    expect(expressionTypeRefusal({ names: ['pg_catalog', 'point'] })?.message).toBe('datatype point not supported');
    expect(expressionTypeRefusal({ names: ['money'], array: true })?.message).toBe('datatype money not supported');
    for (const ok of ['inet', 'jsonb', 'regclass', 'oid', 'name', 'text']) expect(expressionTypeRefusal({ names: [ok] })).toBeUndefined();
  });
});

describe('sequences and identity', () => {
  it('takes CACHE 1 or at least 65,536, nothing else', () => {
    expect([1, 65536, 100000].map(sequenceCacheAllowed)).toEqual([true, true, true]);
    expect([undefined, 0, 2, 65535].map(sequenceCacheAllowed)).toEqual([false, false, false, false]);
  });

  it('allows bigint identities only', () => {
    expect(isIdentityType({ names: ['pg_catalog', 'int8'] })).toBe(true);
    expect(isIdentityType({ names: ['pg_catalog', 'int4'] })).toBe(false);
    expect(isIdentityType({ names: ['int8'], array: true })).toBe(false);
  });
});

describe('functions, statements and clauses', () => {
  it('knows the families of functions DSQL lacks', () => {
    expect(unsupportedFunction('PG_ADVISORY_XACT_LOCK')?.family).toBe('advisory locks');
    expect(unsupportedFunction('pg_try_advisory_lock')?.certainty).toBe('inferred');
    expect(unsupportedFunction('to_tsvector')?.family).toBe('full text search');
    expect(unsupportedFunction('pg_notify')?.family).toBe('LISTEN / NOTIFY');
    for (const ok of ['now', 'gen_random_uuid', 'nextval', 'jsonb_build_object', 'lower', 'upper']) {
      expect(unsupportedFunction(ok)).toBeUndefined();
    }
  });

  it('refuses a bare name only where no user function can be meant (DSQL runs LANGUAGE sql functions)', () => {
    expect(unsupportedFunctionCall(['pg_advisory_lock'])?.family).toBe('advisory locks');
    expect(unsupportedFunctionCall(['pg_catalog', 'pg_notify'])?.family).toBe('LISTEN / NOTIFY');
    // Ordinary words a user's own function may have: refused only when the call names pg_catalog.
    for (const name of ['area', 'center', 'strip', 'point', 'to_tsvector', 'int4range', 'xpath', 'lo_create']) {
      expect(unsupportedFunctionCall([name])).toBeUndefined();
      expect(unsupportedFunctionCall(['PG_CATALOG', name])?.match).toBe('pg_catalog');
    }
    expect(unsupportedFunctionCall(['app', 'pg_advisory_lock'])).toBeUndefined();
    // jsonb is supported (June 2026) and nothing documents its path functions as refused.
    expect(unsupportedFunction('jsonb_path_query')).toBeUndefined();
  });

  it('refuses statements by parse node and leaves supported ones alone', () => {
    expect(unsupportedStatement('TruncateStmt')?.certainty).toBe('recorded');
    expect(unsupportedStatement('CreateStatsStmt')).toBeUndefined();
    expect(dsqlRefusals.unsupportedStatement('Truncate').message).toBe('unsupported statement: Truncate');
  });

  it('separates supported and refused clauses', () => {
    expect(LOCKING_CLAUSES.filter((c) => c.supported).map((c) => c.words)).toEqual(['FOR UPDATE', 'FOR KEY SHARE']);
    expect(alterTableForm('AT_DropColumn')?.supported).toBe(true);
    expect(alterTableForm('AT_SetNotNull')).toMatchObject({ supported: false, words: 'ALTER COLUMN ... SET NOT NULL' });
    expect(dsqlRefusals.alterTableForm('ALTER COLUMN ... SET NOT NULL').message).toBe(
      'unsupported ALTER TABLE ALTER COLUMN ... SET NOT NULL statement',
    );
  });

  it('takes every ALTER TABLE action the user guide lists (ALTER TABLE page, "Supported syntax")', () => {
    for (const key of ['AT_ColumnDefault', 'AT_DropNotNull', 'AT_DropExpression', 'AT_AddIdentity', 'AT_SetIdentity',
      'AT_DropIdentity', 'AT_AlterConstraint', 'AT_SetStorage', 'AT_ChangeOwner', 'AT_DropColumn']) {
      expect(alterTableForm(key)).toMatchObject({ supported: true });
    }
    for (const key of ['AT_SetNotNull', 'AT_SetExpression', 'AT_SetStatistics', 'AT_AlterColumnType']) {
      expect(alterTableForm(key)).toMatchObject({ supported: false });
    }
  });

  it('names a known source for every entry, and lists nothing twice', () => {
    const entries = [
      ...DSQL_TYPES, ...UNSUPPORTED_FUNCTION_FAMILIES, ...UNSUPPORTED_STATEMENTS,
      ...LOCKING_CLAUSES, ...CREATE_TABLE_CLAUSES, ...CREATE_INDEX_CLAUSES, ...ALTER_TABLE_FORMS,
    ];
    for (const entry of entries) expect(Object.keys(RULE_SOURCES)).toContain(entry.source);
    expect(new Set(DSQL_TYPES.map((t) => t.name)).size).toBe(DSQL_TYPES.length);
    expect(new Set(ALTER_TABLE_FORMS.map((f) => f.key)).size).toBe(ALTER_TABLE_FORMS.length);
    const fns = UNSUPPORTED_FUNCTION_FAMILIES.flatMap((f) => f.names);
    expect(new Set(fns).size).toBe(fns.length);
    expect(typeRule('int4')?.display).toBe('integer');
  });
});

describe('the @dsql/core/rules entry', () => {
  it('imports nothing but its own modules (no parser, no AWS SDK)', () => {
    const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
    const files = ['rules.ts', 'rules/sources.ts', 'rules/types.ts', 'rules/type-names.ts', 'rules/functions.ts',
      'rules/statements.ts', 'rules/clauses.ts', 'rules/messages.ts'];
    for (const file of files) {
      const imports = [...readFileSync(join(dir, file), 'utf8').matchAll(/^(?:import|export|\})[^\n]*from '([^']+)'/gm)].map((m) => m[1]!);
      for (const spec of imports) expect(spec).toMatch(/^\.\.?\/(rules\/)?[a-z-]+\.js$/);
    }
  });
});
