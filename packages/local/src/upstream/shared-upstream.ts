/**
 * What every endpoint of one emulated cluster shares: the upstream PostgreSQL (embedded or
 * yours), the SQL rules and their bootstrap, the OCC arbiter and the role logins. One
 * `startDsqlLocal()` owns one; the endpoints of a multi-Region cluster (../cluster/) share one,
 * which is what makes a commit through one Region visible in the other, and a conflict between
 * two Regions decided as within one cluster (first committer wins across both).
 */
import { OccArbiter } from '../session/occ-arbiter.js';
import { createDsqlRules } from '../sql/index.js';
import type { SqlRules } from '../sql/hook.js';
import { parseUpstreamUrl, runUpstreamSql, type UpstreamTarget } from './connect.js';
import { startEmbeddedPostgres, type EmbeddedUpstream } from './embedded.js';
import { RoleLogins } from './roles.js';

/** The storage side of a cluster, shared by its endpoints. */
export interface SharedUpstream {
  target: UpstreamTarget;
  /** `postgres://…` URL of the upstream (with its password). */
  url: string;
  rules: SqlRules;
  occ: OccArbiter;
  /** Only for the embedded upstream (see roles.ts). */
  roleLogins: RoleLogins | undefined;
  /** Closes the arbiter and stops the embedded server (see `EmbeddedUpstream.stop`). Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts (embedded) or names (URL) the upstream and readies the rules on it.
 *
 * @example
 * const shared = await startSharedUpstream({ upstream: 'embedded', sessions: 100, rules: undefined });
 * await shared.stop();
 */
export async function startSharedUpstream(o: { upstream: string; sessions: number; rules: SqlRules | undefined }): Promise<SharedUpstream> {
  let embedded: EmbeddedUpstream | undefined;
  let target: UpstreamTarget;
  let url: string;
  if (o.upstream === 'embedded') {
    embedded = await startEmbeddedPostgres({ sessions: o.sessions });
    target = embedded.target;
    url = embedded.url;
  } else {
    target = parseUpstreamUrl(o.upstream);
    url = o.upstream;
  }
  try {
    const rules = o.rules ?? createDsqlRules();
    await rules.ready?.();
    if (rules.bootstrapSql?.length) await runUpstreamSql(target, rules.bootstrapSql);
    const occ = new OccArbiter(target);
    let stopping: Promise<void> | undefined;
    return {
      target,
      url,
      rules,
      occ,
      roleLogins: embedded ? new RoleLogins(target) : undefined,
      stop: () =>
        (stopping ??= (async () => {
          occ.close();
          await embedded?.stop();
        })()),
    };
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}
