/**
 * `err.dsql` on `@dsql/pg`'s errors comes from `@dsql/core`'s error funnel, the one every
 * `@dsql/*` adapter uses (see `classifyInPlace` there for the contract). Re-exported here so
 * `@dsql/pg`'s public names stay where they were.
 */
export { classifyInPlace, type ClassifiedError, type DsqlClassification } from '@dsql/core';
