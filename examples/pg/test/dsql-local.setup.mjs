// Jest globalSetup: one local DSQL endpoint for the whole test run (the pattern for your own CI).
// Test files run in other processes, so they get the connection options through the environment
// (credentials and CA of a throwaway local endpoint, nothing secret).
import process from 'node:process';
import { startDsqlLocal } from '@dsql/local';

export default async function setup() {
  const dsql = await startDsqlLocal();
  globalThis.dsqlLocal = dsql; // for globalTeardown
  process.env.DSQL_LOCAL = JSON.stringify(dsql.connectionOptions());
}
