/**
 * Browser stand-in for `os` as Postgres.js uses it: the OS user name (only when no `user` is
 * given — `dsql()` always gives one) and the home directory for `.pgpass` (only read without a
 * password — `dsql()` always gives the token).
 */
import { unavailableInBrowser } from './unavailable.js';

export default {
  userInfo(): never {
    throw unavailableInBrowser('the operating-system user', 'pass user');
  },
  homedir(): string {
    return '';
  },
};
