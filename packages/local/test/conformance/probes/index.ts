/**
 * The documentation probe set: cases written from AWS's Aurora DSQL user guide (see each case's
 * `source`), beyond the shared recordings, replayed like them (`../replay.ts`). Every documented
 * unsupported type, function family, clause and statement, with supported ones next to them.
 */
import type { GoldenFile } from '../golden.js';
import { clauseProbes } from './clauses.js';
import { functionProbes } from './functions.js';
import { statementProbes } from './statements.js';
import { typeProbes } from './types.js';

export type { ProbeCase } from './define.js';

/** The probe files, as the replay reads recording files. */
export const PROBE_FILES: GoldenFile[] = [
  { file: 'types', cases: typeProbes },
  { file: 'functions', cases: functionProbes },
  { file: 'statements', cases: statementProbes },
  { file: 'clauses', cases: clauseProbes },
];

/** The tables and objects the probes assume, each statement run on its own. */
export const PROBE_FIXTURE: string[] = [
  'CREATE TABLE probe_t (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), v text, n int, a int, b int)',
  'CREATE TABLE probe_parent (id uuid PRIMARY KEY)',
  'CREATE TABLE probe_alter_add (id uuid PRIMARY KEY, v text)',
  'CREATE TABLE probe_alter_check (id uuid PRIMARY KEY, n int)',
  'CREATE TABLE probe_alter_rename (id uuid PRIMARY KEY, v text)',
  'CREATE TABLE probe_alter_renamed (id uuid PRIMARY KEY)',
  'CREATE TABLE probe_alter_drop (id uuid PRIMARY KEY, v text)',
  'CREATE TABLE probe_alter_moved (id uuid PRIMARY KEY)',
  'CREATE TABLE probe_drop_me (id int)',
  'CREATE SCHEMA probe_fixture_schema',
  'CREATE SEQUENCE probe_seq_fixture CACHE 1',
];
