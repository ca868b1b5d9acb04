/**
 * Where each rule of the catalogue comes from. Every entry names one of these, so a reader can
 * check a rule against its page (AWS's Aurora DSQL User Guide, September 2026) or recording.
 */

/** The documents and recordings the catalogue is derived from. */
export const RULE_SOURCES = {
  dataTypes: 'Aurora DSQL User Guide: Supported data types in Aurora DSQL',
  supportedSql: 'Aurora DSQL User Guide: Supported SQL for Aurora DSQL',
  sqlSubsets: 'Aurora DSQL User Guide: Supported subsets of SQL commands in Aurora DSQL',
  unsupported: 'Aurora DSQL User Guide: Unsupported PostgreSQL features in Aurora DSQL',
  asyncIndexes: 'Aurora DSQL User Guide: Asynchronous indexes in Aurora DSQL / CREATE INDEX',
  sequences: 'Aurora DSQL User Guide: Working with sequences and identity columns / CREATE SEQUENCE',
  alterTable: 'Aurora DSQL User Guide: ALTER TABLE, "Supported syntax" (the version listing ALTER TABLE ASYNC … VALIDATE CONSTRAINT)',
  foreignKeys: 'Aurora DSQL User Guide: Working with foreign key constraints',
  concurrency: 'Aurora DSQL User Guide: Concurrency control in Aurora DSQL',
  ddl: 'Aurora DSQL User Guide: DDL and distributed transactions in Aurora DSQL',
  releaseNotes: 'Aurora DSQL release notes, 2026',
  recordings: 'Recordings of a real cluster (September 2026, golden/*.json)',
} as const;

/** The key of a source in `RULE_SOURCES`. */
export type RuleSource = keyof typeof RULE_SOURCES;

/**
 * How sure a rule's answer is: `recorded` (a real cluster answered exactly this), `documented`
 * (AWS documents that DSQL refuses it; the wording follows the recorded style), `inferred`
 * (follows from a documented rule, e.g. a function of a type DSQL does not have).
 */
export type RuleCertainty = 'recorded' | 'documented' | 'inferred';
