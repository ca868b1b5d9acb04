// Run once per app before the quick starts: their tables, rows and the `app` role, through
// @dsql/pg with the endpoint from the environment (one DDL statement per transaction, as DSQL wants).
import { DsqlPool } from '@dsql/pg';

const pool = new DsqlPool({ host: process.env.PGHOST, max: 1 });
try {
  for (const statement of [
    'CREATE TABLE accounts (id text PRIMARY KEY DEFAULT gen_random_uuid()::text, owner text NOT NULL, balance integer NOT NULL)',
    'CREATE TABLE users (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL, email text NOT NULL)',
    'CREATE TABLE posts (id text PRIMARY KEY, user_id uuid, stars integer NOT NULL)',
    'CREATE ROLE app WITH LOGIN',
    "INSERT INTO accounts (id, owner, balance) VALUES ('a', 'ada', 1000), ('b', 'bob', 1000)",
    "INSERT INTO posts (id, stars) VALUES ('p1', 0)",
  ]) {
    await pool.query(statement);
  }
} finally {
  await pool.end();
}
