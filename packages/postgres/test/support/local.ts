import { startDsqlLocal, type DsqlLocal, type DsqlLocalOptions } from '@dsql/local';

/**
 * Starts a local DSQL endpoint before the file's tests and stops it after them (jest's beforeAll /
 * afterAll), handing it to `use` once started.
 *
 * @example
 * let local: DsqlLocal;
 * withLocal((started) => (local = started));
 */
export function withLocal(use: (local: DsqlLocal) => void, options?: DsqlLocalOptions): void {
  let local: DsqlLocal | undefined;
  beforeAll(async () => {
    local = await startDsqlLocal(options);
    use(local);
  }, 60_000);
  afterAll(async () => {
    await local?.stop();
  });
}
