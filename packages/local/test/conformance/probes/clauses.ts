/**
 * Clauses: SELECT's documented clauses and locking clauses ("Supported SQL"), CREATE TABLE's
 * unsupported clauses ("Unsupported SQL expressions": COLLATE, AS SELECT, INHERITS, PARTITION;
 * temporary tables; exclusion constraints), CREATE INDEX ASYNC's (ASC / DESC unsupported; NULLS
 * FIRST / LAST, expressions and partial indexes supported), ALTER TABLE's forms, and the
 * sequence / identity CACHE and bigint rules.
 */
import { accepted, DOC, refused, type ProbeCase } from './define.js';

const LOCKING = 'locking clauses other than FOR UPDATE/FOR KEY SHARE are not supported';
const CACHE_RULE = 'please define CACHE greater than or equal to 65536 or equal to 1';

const SELECT_CLAUSES: Array<[string, string]> = [
  ['group_by_distinct', 'SELECT DISTINCT n FROM probe_t GROUP BY DISTINCT n'],
  ['order_nulls', 'SELECT n FROM probe_t ORDER BY n DESC NULLS LAST LIMIT 5'],
  ['having', 'SELECT n, count(*) FROM probe_t GROUP BY n HAVING count(*) > 0'],
  ['join_using', 'SELECT * FROM probe_t JOIN probe_parent USING (id)'],
  ['full_join', 'SELECT * FROM probe_t FULL JOIN probe_parent ON probe_t.id = probe_parent.id'],
  ['cross_join', 'SELECT * FROM probe_t CROSS JOIN probe_parent'],
  ['union_all', 'SELECT id FROM probe_t UNION ALL SELECT id FROM probe_parent'],
  ['intersect', 'SELECT id FROM probe_t INTERSECT SELECT id FROM probe_parent'],
  ['except_all', 'SELECT id FROM probe_t EXCEPT ALL SELECT id FROM probe_parent'],
  ['window_rank', 'SELECT rank() OVER (PARTITION BY n ORDER BY v) FROM probe_t'],
  ['cte', 'WITH x AS (SELECT n FROM probe_t) SELECT count(*) FROM x'],
  ['for_update', 'SELECT * FROM probe_t FOR UPDATE'],
  ['for_key_share', 'SELECT * FROM probe_t FOR KEY SHARE'],
  ['for_update_of', 'SELECT * FROM probe_t t JOIN probe_parent p ON t.id = p.id FOR UPDATE OF t'],
];

const ALTER_REFUSED: Array<[string, string, string]> = [
  ['set_default', "ALTER TABLE probe_t ALTER COLUMN v SET DEFAULT 'x'", 'ALTER COLUMN ... SET DEFAULT'],
  ['drop_default', 'ALTER TABLE probe_t ALTER COLUMN id DROP DEFAULT', 'ALTER COLUMN ... DROP DEFAULT'],
  ['set_not_null', 'ALTER TABLE probe_t ALTER COLUMN v SET NOT NULL', 'ALTER COLUMN ... SET NOT NULL'],
  ['drop_not_null', 'ALTER TABLE probe_t ALTER COLUMN v DROP NOT NULL', 'ALTER COLUMN ... DROP NOT NULL'],
  ['set_data_type', 'ALTER TABLE probe_t ALTER COLUMN n TYPE bigint', 'ALTER COLUMN ... SET DATA TYPE'],
  ['add_identity', 'ALTER TABLE probe_t ALTER COLUMN n ADD GENERATED ALWAYS AS IDENTITY', 'ALTER COLUMN ... ADD GENERATED AS IDENTITY'],
  ['enable_rls', 'ALTER TABLE probe_t ENABLE ROW LEVEL SECURITY', 'ENABLE ROW LEVEL SECURITY'],
  ['disable_trigger', 'ALTER TABLE probe_t DISABLE TRIGGER ALL', 'DISABLE TRIGGER'],
  ['set_tablespace', 'ALTER TABLE probe_t SET TABLESPACE pg_default', 'SET TABLESPACE'],
  ['set_unlogged', 'ALTER TABLE probe_t SET UNLOGGED', 'SET UNLOGGED'],
  ['cluster_on', 'ALTER TABLE probe_t CLUSTER ON probe_t_pkey', 'CLUSTER ON'],
  ['set_fillfactor', 'ALTER TABLE probe_t SET (fillfactor = 70)', 'SET (storage parameter)'],
  ['inherit', 'ALTER TABLE probe_t INHERIT probe_parent', 'INHERIT'],
  ['replica_identity', 'ALTER TABLE probe_t REPLICA IDENTITY FULL', 'REPLICA IDENTITY'],
  ['attach_partition', "ALTER TABLE probe_t ATTACH PARTITION probe_parent FOR VALUES IN ('a')", 'ATTACH PARTITION'],
];

/** The clause probes. */
export const clauseProbes: ProbeCase[] = [
  ...SELECT_CLAUSES.map(([name, sql]) => accepted(`select_${name}`, sql, 'SELECT 0', DOC.sql)),
  refused('select_for_share', 'SELECT * FROM probe_t FOR SHARE', LOCKING, DOC.sql),
  refused('select_for_no_key_update', 'SELECT * FROM probe_t FOR NO KEY UPDATE', LOCKING, DOC.sql),
  refused('select_for_share_subquery', 'SELECT * FROM (SELECT * FROM probe_t FOR SHARE) s', LOCKING, DOC.sql),
  refused('select_for_share_nowait', 'SELECT * FROM probe_t FOR SHARE NOWAIT', LOCKING, DOC.sql),
  // CREATE TABLE
  refused('create_temp', 'CREATE TEMP TABLE probe_tmp (id int)', 'TEMPORARY or TEMP table not supported for CREATE TABLE', DOC.unsupported),
  refused('create_unlogged', 'CREATE UNLOGGED TABLE probe_unl (id int)', 'UNLOGGED table not supported for CREATE TABLE', DOC.unsupported),
  refused('create_partitioned', 'CREATE TABLE probe_part (id int, d date) PARTITION BY RANGE (d)',
    'PARTITION BY not supported for CREATE TABLE', DOC.unsupported),
  refused('create_partition_of', 'CREATE TABLE probe_part_1 PARTITION OF probe_t DEFAULT', 'PARTITION OF not supported for CREATE TABLE',
    DOC.unsupported),
  refused('create_inherits', 'CREATE TABLE probe_child_inh (x int) INHERITS (probe_t)', 'INHERITS not supported for CREATE TABLE',
    DOC.unsupported),
  refused('create_collate', 'CREATE TABLE probe_coll (v text COLLATE "C")', 'COLLATE not supported for CREATE TABLE', DOC.unsupported),
  refused('create_exclude', 'CREATE TABLE probe_excl (id int, EXCLUDE USING btree (id WITH =))',
    'EXCLUDE constraint not supported for CREATE TABLE', DOC.unsupported),
  refused('create_tablespace_clause', 'CREATE TABLE probe_tbs (id int) TABLESPACE pg_default', 'TABLESPACE not supported for CREATE TABLE',
    DOC.unsupported),
  accepted('create_like', 'CREATE TABLE probe_like (LIKE probe_t INCLUDING DEFAULTS)', 'CREATE TABLE', DOC.subsets),
  accepted('create_check_unique', 'CREATE TABLE probe_chk (id int PRIMARY KEY, v text UNIQUE NULLS NOT DISTINCT, CHECK (id > 0))',
    'CREATE TABLE', DOC.subsets),
  accepted('create_generated', 'CREATE TABLE probe_gen (a int, b int GENERATED ALWAYS AS (a * 2) STORED)', 'CREATE TABLE', DOC.subsets),
  accepted('create_pk_include', 'CREATE TABLE probe_incl (id int, v text, PRIMARY KEY (id) INCLUDE (v))', 'CREATE TABLE', DOC.subsets),
  accepted('create_fk_cascade', 'CREATE TABLE probe_fk (id uuid PRIMARY KEY, p uuid REFERENCES probe_parent (id) ON DELETE CASCADE)',
    'CREATE TABLE', DOC.releases),
  accepted('create_storage', 'CREATE TABLE probe_storage (v text STORAGE EXTERNAL)', 'CREATE TABLE', DOC.releases),
  // Identity columns and sequences
  accepted('identity_cache_1', 'CREATE TABLE probe_id1 (id bigint GENERATED BY DEFAULT AS IDENTITY (CACHE 1))', 'CREATE TABLE', DOC.sequences),
  accepted('identity_cache_65536', 'CREATE TABLE probe_id2 (id bigint GENERATED ALWAYS AS IDENTITY (CACHE 65536))', 'CREATE TABLE',
    DOC.sequences),
  refused('identity_cache_100', 'CREATE TABLE probe_id3 (id bigint GENERATED ALWAYS AS IDENTITY (CACHE 100))',
    `identity column is not supported without an explicit cache size. ${CACHE_RULE}`, DOC.sequences),
  refused('identity_integer', 'CREATE TABLE probe_id4 (id int GENERATED ALWAYS AS IDENTITY (CACHE 1))',
    'datatype integer not supported, identity column type must be bigint', DOC.sequences),
  accepted('sequence_cache_1', 'CREATE SEQUENCE probe_seq1 CACHE 1', 'CREATE SEQUENCE', DOC.sequences),
  accepted('sequence_bigint', 'CREATE SEQUENCE probe_seq2 AS bigint CACHE 65536', 'CREATE SEQUENCE', DOC.sequences),
  refused('sequence_no_cache', 'CREATE SEQUENCE probe_seq3', `CREATE SEQUENCE is not supported without an explicit cache size. ${CACHE_RULE}`,
    DOC.sequences),
  refused('sequence_cache_1000', 'CREATE SEQUENCE probe_seq4 CACHE 1000',
    `CREATE SEQUENCE is not supported without an explicit cache size. ${CACHE_RULE}`, DOC.sequences),
  refused('sequence_integer', 'CREATE SEQUENCE probe_seq5 AS integer CACHE 1',
    'datatype integer not supported, sequence type must be bigint', DOC.sequences),
  accepted('nextval', "SELECT nextval('probe_seq_fixture')", 'SELECT 1', DOC.sequences),
  // CREATE INDEX
  refused('index_sync', 'CREATE INDEX probe_i0 ON probe_t (v)', 'unsupported mode. please use CREATE INDEX ASYNC.', DOC.indexes),
  accepted('index_async', 'CREATE INDEX ASYNC probe_i1 ON probe_t (v)', 'CREATE INDEX', DOC.indexes),
  accepted('index_nulls_last', 'CREATE INDEX ASYNC probe_i2 ON probe_t (n NULLS LAST)', 'CREATE INDEX', DOC.sql),
  accepted('index_unique_include', 'CREATE UNIQUE INDEX ASYNC probe_i3 ON probe_t (v) INCLUDE (n)', 'CREATE INDEX', DOC.indexes),
  accepted('index_expression', 'CREATE INDEX ASYNC probe_i4 ON probe_t (lower(v))', 'CREATE INDEX', DOC.releases),
  accepted('index_partial', 'CREATE INDEX ASYNC probe_i5 ON probe_t (n) WHERE n > 0', 'CREATE INDEX', DOC.releases),
  refused('index_desc', 'CREATE INDEX ASYNC probe_i6 ON probe_t (n DESC)', 'DESC not supported for CREATE INDEX', DOC.unsupported),
  refused('index_asc', 'CREATE INDEX ASYNC probe_i7 ON probe_t (n ASC)', 'ASC not supported for CREATE INDEX', DOC.unsupported),
  refused('index_gin', 'CREATE INDEX ASYNC probe_i8 ON probe_t USING gin (v)', 'index access method gin not supported', DOC.indexes),
  refused('index_hash', 'CREATE INDEX ASYNC probe_i9 ON probe_t USING hash (v)', 'index access method hash not supported', DOC.indexes),
  // ALTER TABLE
  ...ALTER_REFUSED.map(([name, sql, form]) => refused(`alter_${name}`, sql, `unsupported ALTER TABLE ${form} statement`, DOC.alter)),
  refused('alter_add_column_default', "ALTER TABLE probe_t ADD COLUMN w text DEFAULT 'x'",
    'ALTER TABLE ADD COLUMN with constraint not supported', DOC.alter),
  refused('alter_add_unique', 'ALTER TABLE probe_t ADD CONSTRAINT probe_t_v_key UNIQUE (v)', 'unsupported ALTER TABLE ADD CONSTRAINT statement',
    DOC.alter),
  accepted('alter_add_check_not_valid', 'ALTER TABLE probe_alter_check ADD CONSTRAINT probe_n_pos CHECK (n > 0) NOT VALID', 'ALTER TABLE',
    DOC.alter),
  accepted('alter_rename_column', 'ALTER TABLE probe_alter_rename RENAME COLUMN v TO w', 'ALTER TABLE', DOC.alter),
  accepted('alter_rename_table', 'ALTER TABLE probe_alter_renamed RENAME TO probe_alter_renamed2', 'ALTER TABLE', DOC.alter),
  accepted('alter_drop_column', 'ALTER TABLE probe_alter_drop DROP COLUMN v', 'ALTER TABLE', DOC.releases),
  accepted('alter_set_storage', 'ALTER TABLE probe_alter_add ALTER COLUMN v SET STORAGE MAIN', 'ALTER TABLE', DOC.releases),
  accepted('alter_set_schema', 'ALTER TABLE probe_alter_moved SET SCHEMA probe_fixture_schema', 'ALTER TABLE', DOC.alter),
];
