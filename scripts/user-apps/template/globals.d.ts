// The names the README quick starts use without defining them (the reader's own values and
// types). setup.ts gives them values at run time; the quick starts themselves are unchanged.
import type { startDsqlLocal } from '@dsql/local';
import type * as quickstartSchema from './schema.js';

declare global {
  var from: string;
  var to: string;
  var id: string;
  var host: string;
  var accounts: typeof quickstartSchema.accounts;
  var schema: typeof quickstartSchema;
  var provider: { getMigrations(): Promise<Record<string, { up(db: any): Promise<void>; down?(db: any): Promise<void> }>> };
  var dsql: Awaited<ReturnType<typeof startDsqlLocal>>;
  interface Database {
    accounts: { id: string; owner: string; balance: number };
  }
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- a second name for the same shape, as README examples use it
  interface DB extends Database {}
}

export {};
