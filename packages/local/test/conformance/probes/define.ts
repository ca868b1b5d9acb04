/**
 * Helpers for the documentation probe set: each probe is a golden-format case (see `../golden.ts`)
 * whose expected answer is derived from AWS's Aurora DSQL user guide rather than recorded, and
 * names the page it comes from (`source`). Texts DSQL has not been recorded answering are the
 * emulator's guesses in DSQL's style, listed in the package README.
 */
import type { GoldenCase, GoldenObservation } from '../golden.js';

/** A probe: a golden case plus the document its expectation comes from. */
export interface ProbeCase extends GoldenCase {
  source: string;
}

/** The user guide pages the probes cite. */
export const DOC = {
  types: 'Supported data types in Aurora DSQL',
  sql: 'Supported SQL for Aurora DSQL',
  subsets: 'Supported subsets of SQL commands in Aurora DSQL',
  unsupported: 'Unsupported PostgreSQL features in Aurora DSQL',
  indexes: 'Asynchronous indexes in Aurora DSQL / CREATE INDEX',
  sequences: 'CREATE SEQUENCE / Working with sequences and identity columns',
  alter: 'ALTER TABLE',
  concurrency: 'Concurrency control in Aurora DSQL',
  releases: 'Release notes for Aurora DSQL (2026)',
} as const;

const ok = (command_tag: string): GoldenObservation => ({ outcome: 'ok', command_tag });
const error = (sqlstate: string, message: string): GoldenObservation => ({ outcome: 'error', sqlstate, message });

/** `0A000` with DSQL's text: the code of nearly every refusal. */
export const refusedWith = (message: string): GoldenObservation => error('0A000', message);

/**
 * One statement DSQL accepts, answered with `tag` (rows not compared).
 *
 * @example
 * accepted('select_now', 'SELECT now()', 'SELECT 1', DOC.sql);
 */
export function accepted(name: string, sql: string, tag: string, source: string): ProbeCase {
  return { name, group: 'probe', steps: [sql], observations: [ok(tag)], ignore_rows: true, source };
}

/**
 * One statement DSQL refuses with `message` (SQLSTATE `0A000` unless given).
 *
 * @example
 * refused('truncate', 'TRUNCATE probe_t', 'unsupported statement: Truncate', DOC.unsupported);
 */
export function refused(name: string, sql: string, message: string, source: string, sqlstate = '0A000'): ProbeCase {
  return { name, group: 'probe', steps: [sql], observations: [error(sqlstate, message)], ignore_rows: true, source };
}

/**
 * A statement refused inside a transaction block: BEGIN, the statement, then 25P02 for a
 * following SELECT (the refusal aborts the block), then ROLLBACK.
 *
 * @example
 * refusedInBlock('savepoint', 'SAVEPOINT s', 'unsupported transaction statement: SAVEPOINT', DOC.unsupported);
 */
export function refusedInBlock(name: string, sql: string, message: string, source: string): ProbeCase {
  return {
    name,
    group: 'probe',
    steps: ['BEGIN', sql, 'SELECT 1', 'ROLLBACK'],
    observations: [
      ok('BEGIN'),
      refusedWith(message),
      error('25P02', 'current transaction is aborted, commands ignored until end of transaction block'),
      ok('ROLLBACK'),
    ],
    ignore_rows: true,
    source,
  };
}

/**
 * A statement accepted inside a transaction block: BEGIN, the statement, COMMIT.
 *
 * @example
 * acceptedInBlock('set_constraints', 'SET CONSTRAINTS ALL DEFERRED', 'SET CONSTRAINTS', DOC.subsets);
 */
export function acceptedInBlock(name: string, sql: string, tag: string, source: string): ProbeCase {
  return {
    name,
    group: 'probe',
    steps: ['BEGIN', sql, 'COMMIT'],
    observations: [ok('BEGIN'), ok(tag), ok('COMMIT')],
    ignore_rows: true,
    source,
  };
}
