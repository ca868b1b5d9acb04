import { startDsqlLocal, type DsqlLocal, type DsqlLocalOptions } from '@dsql/local';

/** A credentials provider that counts how often it is asked (as IMDS/STS would be). */
export interface CountingCredentials {
  (): Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }>;
  calls: number;
}

export function countingCredentials(local: DsqlLocal, delayMs = 0): CountingCredentials {
  const provider = (async () => {
    provider.calls++;
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    return { ...local.credentials };
  }) as CountingCredentials;
  provider.calls = 0;
  return provider;
}

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

/** Starts an emulator; the caller stops it in afterAll. */
export async function startLocal(options: DsqlLocalOptions = {}): Promise<DsqlLocal> {
  return startDsqlLocal(options);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Ends a backend from outside, as an administrator would (`pg_terminate_backend` on the upstream). */
export async function terminateBackend(local: DsqlLocal, pid: number): Promise<void> {
  const pg = (await import('pg')).default;
  const admin = new pg.Client({ connectionString: local.upstreamUrl });
  await admin.connect();
  try {
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
  } finally {
    await admin.end();
  }
}
