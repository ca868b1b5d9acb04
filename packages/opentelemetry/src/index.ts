export { DsqlInstrumentation, type DsqlInstrumentationConfig } from './instrumentation.js';
export { DSQL_METRICS } from './metrics.js';
export { VERSION } from './version.js';
