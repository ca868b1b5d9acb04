/**
 * DSQL's asynchronous jobs (`CREATE INDEX ASYNC`, …) live in core's migration toolkit; the
 * driver waits for them with `CALL sys.wait_for_job` (`waitForIndexes`).
 */
export { DsqlJobError, jobIdOf, waitForJobSql } from '@dsql/core/migrations';
