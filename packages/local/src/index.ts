/** The public API of `@dsql/local` (see README "API"); how a connection is served: pipeline.ts. */
export { startDsqlLocal, type DsqlLocal, type DsqlLocalConnectionOptions } from './server.js';
export type { DsqlLocalOptions } from './options.js';
export { startDsqlLocalCluster, type DsqlLocalCluster, type DsqlLocalClusterOptions, type DsqlLocalRegionStats, type IsolationMode } from './cluster/cluster.js';
export type { Fault, FaultEvent } from './admission/faults.js';
export type { DsqlLocalStats } from './stats.js';
export { verifyDsqlToken, type DsqlLocalCredentials, type AuthFailureReason, type TokenVerdict, type TokenExpectation } from './auth/token.js';
export { createDsqlRules, type DsqlRulesOptions } from './sql/index.js';
export { passThroughRules, type SqlRules, type SqlSession, type SqlDecision, type SqlError, type SqlContext, type TxStatus } from './sql/hook.js';
