/**
 * Functions DSQL does not have, by family: each family follows from a gap (no advisory locks, no
 * LISTEN/NOTIFY, no XML / text search / geometric / range types, no server administration). A
 * call is answered `0A000 function <name> not supported`.
 *
 * DSQL runs users' own `LANGUAGE sql` functions (Supported SQL for Aurora DSQL: "CREATE FUNCTION
 * … LANGUAGE SQL"), so a bare name is only refused where no user function can be meant: the
 * `pg_`-prefixed families (`match: 'name'`). Every other family (`area`, `strip`, `point`,
 * `lo_create`, …) is refused only when the call names `pg_catalog` (`match: 'pg_catalog'`); a bare
 * call is left to the server, and the family's argument types are refused wherever a statement
 * names them (`box '…'`, `::tsvector`; see `expressionTypeRefusal`).
 */
import type { RuleCertainty, RuleSource } from './sources.js';

/** One family of functions DSQL lacks. */
export interface FunctionFamily {
  /** What the family is, as a reader would search for it. */
  readonly family: string;
  /** The function names (unqualified or `pg_catalog.`), lower case. */
  readonly names: readonly string[];
  /** Why DSQL lacks them. */
  readonly reason: string;
  /**
   * Which calls the family refuses: `name` — unqualified or `pg_catalog.` (the `pg_` names only a
   * built-in has); `pg_catalog` — only `pg_catalog.<name>`, since a bare name may be a user's own
   * function.
   */
  readonly match: FunctionMatch;
  readonly source: RuleSource;
  readonly certainty: RuleCertainty;
}

/** How a family's calls are recognised: see {@link FunctionFamily.match}. */
export type FunctionMatch = 'name' | 'pg_catalog';

const family = (
  name: string,
  names: readonly string[],
  reason: string,
  match: FunctionMatch,
  source: RuleSource,
  certainty: RuleCertainty = 'inferred',
): FunctionFamily => Object.freeze({ family: name, names: Object.freeze([...names]), reason, match, source, certainty });

const ADVISORY = ['lock', 'lock_shared', 'unlock', 'unlock_shared', 'xact_lock', 'xact_lock_shared'];

/** Every function family DSQL does not have. */
export const UNSUPPORTED_FUNCTION_FAMILIES: readonly FunctionFamily[] = Object.freeze([
  family(
    'advisory locks',
    [
      ...ADVISORY.map((s) => `pg_advisory_${s}`),
      ...ADVISORY.filter((s) => !s.startsWith('unlock')).map((s) => `pg_try_advisory_${s}`),
      'pg_advisory_unlock_all',
    ],
    'DSQL has no locks to wait on: concurrency is optimistic, checked at COMMIT (the user guide does not list these functions; reported by golang-migrate users)',
    'name',
    'concurrency',
  ),
  family(
    'LISTEN / NOTIFY',
    ['pg_notify', 'pg_listening_channels', 'pg_notification_queue_usage'],
    'LISTEN, NOTIFY and UNLISTEN are unsupported statements (recorded)',
    'name',
    'recordings',
  ),
  family(
    'XML',
    ['xmlcomment', 'xmlconcat', 'xmlagg', 'xpath', 'xpath_exists', 'xml_is_well_formed',
      'xml_is_well_formed_document', 'xml_is_well_formed_content', 'table_to_xml', 'query_to_xml', 'cursor_to_xml',
      'table_to_xmlschema', 'query_to_xmlschema', 'schema_to_xml', 'database_to_xml', 'xmltext'],
    'the xml type is not in the supported data types',
    'pg_catalog',
    'dataTypes',
  ),
  family(
    'full text search',
    ['to_tsvector', 'to_tsquery', 'plainto_tsquery', 'phraseto_tsquery', 'websearch_to_tsquery', 'ts_rank',
      'ts_rank_cd', 'ts_headline', 'setweight', 'strip', 'tsvector_to_array', 'array_to_tsvector', 'ts_rewrite',
      'querytree', 'numnode', 'ts_debug', 'ts_lexize', 'ts_parse', 'ts_stat', 'ts_token_type', 'ts_delete',
      'ts_filter', 'get_current_ts_config', 'tsvector_update_trigger', 'tsvector_update_trigger_column'],
    'the tsvector and tsquery types are not in the supported data types',
    'pg_catalog',
    'dataTypes',
  ),
  family(
    'geometric',
    ['point', 'line', 'lseg', 'box', 'path', 'polygon', 'circle', 'area', 'center', 'diameter', 'radius', 'npoints',
      'pclose', 'popen', 'isclosed', 'isopen', 'bound_box', 'isvertical', 'ishorizontal', 'isparallel',
      'isperp'],
    'the geometric types are not in the supported data types',
    'pg_catalog',
    'dataTypes',
  ),
  family(
    'ranges and multiranges',
    ['int4range', 'int8range', 'numrange', 'tsrange', 'tstzrange', 'daterange', 'int4multirange', 'int8multirange',
      'nummultirange', 'tsmultirange', 'tstzmultirange', 'datemultirange', 'lower_inc', 'upper_inc', 'lower_inf',
      'upper_inf', 'isempty', 'range_merge', 'range_agg', 'range_intersect_agg'],
    'range and multirange types are not in the supported data types',
    'pg_catalog',
    'dataTypes',
  ),
  // The jsonb_path_* functions are not listed: jsonb is supported (release notes, June 2026) and
  // no page says its SQL/JSON path functions are not.
  family(
    'money and MAC addresses',
    ['cash_words', 'macaddr8_set7bit'],
    'money and macaddr8 are not in the supported data types',
    'pg_catalog',
    'dataTypes',
  ),
  family(
    'server administration',
    ['pg_terminate_backend', 'pg_cancel_backend', 'pg_reload_conf', 'pg_rotate_logfile', 'pg_switch_wal',
      'pg_create_restore_point', 'pg_backup_start', 'pg_backup_stop', 'pg_promote', 'pg_wal_replay_pause',
      'pg_wal_replay_resume', 'pg_create_physical_replication_slot', 'pg_create_logical_replication_slot',
      'pg_drop_replication_slot', 'pg_logical_emit_message', 'pg_read_file', 'pg_read_binary_file', 'pg_ls_dir',
      'pg_stat_file', 'pg_current_wal_lsn', 'pg_current_wal_insert_lsn', 'pg_current_wal_flush_lsn',
      'pg_export_snapshot', 'pg_import_system_collations'],
    'a managed, serverless cluster: ALTER SYSTEM is blocked and there is no WAL, server file or backend to manage',
    'name',
    'unsupported',
  ),
  family(
    'large objects',
    ['lo_create', 'lo_creat', 'lo_import', 'lo_export', 'lo_unlink', 'lo_open', 'lo_close', 'lo_get', 'lo_put',
      'lo_from_bytea', 'loread', 'lowrite', 'lo_truncate', 'lo_lseek', 'lo_tell'],
    'large objects live in a system table DSQL does not have (bytea is the supported binary type)',
    'pg_catalog',
    'dataTypes',
  ),
]);

const FUNCTION_FAMILY: ReadonlyMap<string, FunctionFamily> = new Map(
  UNSUPPORTED_FUNCTION_FAMILIES.flatMap((f) => f.names.map((name) => [name, f] as const)),
);

/**
 * The family a built-in function's name belongs to if DSQL lacks it, or `undefined` for one it
 * has (or one the catalogue does not know). `name` is the unqualified function name, any case.
 * This is the catalogue lookup; to judge a call as written, use {@link unsupportedFunctionCall}.
 *
 * @example
 * unsupportedFunction('pg_advisory_lock')?.family; // 'advisory locks'
 * unsupportedFunction('now'); // undefined
 */
export function unsupportedFunction(name: string): FunctionFamily | undefined {
  return FUNCTION_FAMILY.get(name.toLowerCase());
}

/**
 * The family of a call DSQL refuses, judged on the function's name as written (`names`, the
 * parts a parser gives: `['area']`, `['pg_catalog', 'area']`), or `undefined` when the call may
 * run: a family with `match: 'pg_catalog'` is refused only when the call names `pg_catalog`,
 * because a bare name may be a user's own `LANGUAGE sql` function; any other schema is the user's.
 *
 * @example
 * unsupportedFunctionCall(['pg_advisory_lock'])?.family; // 'advisory locks'
 * unsupportedFunctionCall(['area']); // undefined: may be the user's area()
 * unsupportedFunctionCall(['pg_catalog', 'area'])?.family; // 'geometric'
 */
export function unsupportedFunctionCall(names: readonly string[]): FunctionFamily | undefined {
  const qualified = names.length === 2 && names[0]?.toLowerCase() === 'pg_catalog';
  if (names.length !== 1 && !qualified) return undefined;
  const found = unsupportedFunction(names[names.length - 1] ?? '');
  if (!found) return undefined;
  return found.match === 'name' || qualified ? found : undefined;
}

/**
 * Settings DSQL fixes: `SET`, `SET SESSION CHARACTERISTICS`, `SET TRANSACTION` and
 * `set_config()` of them are refused (recorded for SET).
 */
export const FIXED_SETTINGS: ReadonlySet<string> = new Set([
  'default_transaction_isolation',
  'transaction_isolation',
]);
