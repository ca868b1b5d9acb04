import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AsyncLocalStorage } from 'node:async_hooks';
import {
  isDsqlError,
  isInTransactionScope,
  nestedTransactionError,
  runInTransactionScope,
  DsqlUnsupportedError,
  type NestedTransactionWording,
} from '../src/index.js';
import { assertNoOpenTransaction } from '../src/transaction/scope.js';

const POOL: NestedTransactionWording = { callback: 'a transaction() callback', owner: 'pool' };

interface SharedState {
  frames: AsyncLocalStorage<unknown>;
  open: number;
}

/** The process-wide state as the module stores it (its layout is versioned in the key), once created. */
function storedState(): SharedState | undefined {
  return (globalThis as Record<symbol, SharedState | undefined>)[Symbol.for('@dsql/core/transaction-scope/v1')];
}

function sharedState(): SharedState {
  const state = storedState();
  if (state === undefined) throw new Error('no transaction scope was opened yet, so there is no shared state');
  return state;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

afterEach(() => {
  // Every test must leave no scope open (else later tests would run with the store enabled).
  expect(storedState()?.open ?? 0).toBe(0);
});

describe('runInTransactionScope / isInTransactionScope', () => {
  it('is in scope inside the callback, across awaits, timers and Promise.all branches; not before or after', async () => {
    const pool = {};
    expect(isInTransactionScope(pool)).toBe(false);
    const seen = await runInTransactionScope(pool, async () => {
      const direct = isInTransactionScope(pool);
      await tick();
      const afterAwait = isInTransactionScope(pool);
      const inTimer = await new Promise<boolean>((resolve) => setTimeout(() => resolve(isInTransactionScope(pool)), 1));
      const branches = await Promise.all([1, 2].map(async () => (await tick(), isInTransactionScope(pool))));
      return [direct, afterAwait, inTimer, ...branches];
    });
    expect(seen).toEqual([true, true, true, true, true]);
    expect(isInTransactionScope(pool)).toBe(false);
  });

  it('returns the callback\'s value, runs a synchronous callback, and passes its error through', async () => {
    const pool = {};
    expect(await runInTransactionScope(pool, () => 42)).toBe(42);
    const boom = new Error('boom');
    await expect(runInTransactionScope(pool, async () => Promise.reject(boom))).rejects.toBe(boom);
    await expect(
      runInTransactionScope(pool, () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(isInTransactionScope(pool)).toBe(false);
  });

  it('a concurrent caller started outside the callback is not inside it while it runs', async () => {
    const pool = {};
    const hold = deferred();
    const entered = deferred();
    const tx = runInTransactionScope(pool, async () => {
      entered.resolve();
      await hold.promise;
    });
    await entered.promise;
    // This test's own async chain never entered the scope.
    expect(isInTransactionScope(pool)).toBe(false);
    expect(() => assertNoOpenTransaction(pool, 'pool.transaction()', POOL)).not.toThrow();
    hold.resolve();
    await tx;
  });

  it('work the callback scheduled that runs after it settled is outside it', async () => {
    const pool = {};
    const later = deferred();
    let afterwards: boolean | undefined;
    await runInTransactionScope(pool, () => {
      setTimeout(() => {
        afterwards = isInTransactionScope(pool);
        later.resolve();
      }, 5);
    });
    await later.promise;
    expect(afterwards).toBe(false);
  });

  it('owners are told apart by identity: A → B is allowed, A → B → A and A → B → B are nested', async () => {
    const a = {};
    const b = {};
    const seen = await runInTransactionScope(a, () =>
      runInTransactionScope(b, async () => {
        await tick();
        return { a: isInTransactionScope(a), b: isInTransactionScope(b), other: isInTransactionScope({}) };
      }),
    );
    expect(seen).toEqual({ a: true, b: true, other: false });
    // Inside A only, B is free.
    expect(await runInTransactionScope(a, () => isInTransactionScope(b))).toBe(false);
  });

  it('an inner scope that settled while the outer one runs no longer counts; the outer one still does', async () => {
    const a = {};
    const b = {};
    const innerDone = deferred();
    const seen: Record<string, boolean> = {};
    await runInTransactionScope(a, async () => {
      await runInTransactionScope(b, () => {
        // Runs after B settled, inside A's callback: the stored frame is B's (closed), its outer is A's.
        setTimeout(() => {
          seen.a = isInTransactionScope(a);
          seen.b = isInTransactionScope(b);
          innerDone.resolve();
        }, 1);
      });
      await innerDone.promise;
    });
    expect(seen).toEqual({ a: true, b: false });
  });
});

describe('nestedTransactionError / assertNoOpenTransaction', () => {
  it('outside a scope of the owner: no error', async () => {
    const pool = {};
    expect(nestedTransactionError(pool, 'pool.transaction()', POOL)).toBeUndefined();
    expect(await runInTransactionScope({}, () => nestedTransactionError(pool, 'pool.transaction()', POOL))).toBeUndefined();
  });

  it('inside: a DsqlUnsupportedError for "nested transactions" with the adapter\'s wording', async () => {
    const pool = {};
    const err = await runInTransactionScope(pool, async () => {
      await tick();
      return nestedTransactionError(pool, 'pool.transaction()', POOL);
    });
    expect(err).toBeInstanceOf(DsqlUnsupportedError);
    expect(isDsqlError(err, 'unsupported-feature')).toBe(true);
    expect(err?.feature).toBe('nested transactions');
    expect(err?.message).toBe(
      'pool.transaction() was called inside a transaction() callback of the same pool. It would not be part of the open ' +
        'transaction: it would run as a separate transaction on another connection, commit or fail on its own, run again ' +
        'whenever the outer transaction is retried, and wait for a free connection while the outer one holds its own ' +
        '(Aurora DSQL has no nested transactions or savepoints). Use the `tx` passed to the callback instead, or start ' +
        'the second transaction after the first one has finished.',
    );
  });

  it('the optional wait note follows a dash', async () => {
    const sql = {};
    const wording = { callback: 'a transaction callback', owner: 'sql', wait: 'forever here' };
    const err = await runInTransactionScope(sql, () => nestedTransactionError(sql, 'sql.begin()', wording));
    expect(err?.message).toContain('sql.begin() was called inside a transaction callback of the same sql.');
    expect(err?.message).toContain('holds its own — forever here (Aurora DSQL');
  });

  it('assertNoOpenTransaction throws the same error inside and returns outside', async () => {
    const pool = {};
    expect(() => assertNoOpenTransaction(pool, 'client.transaction()', POOL)).not.toThrow();
    const thrown = await runInTransactionScope(pool, () => {
      try {
        assertNoOpenTransaction(pool, 'client.transaction()', POOL);
        return undefined;
      } catch (err) {
        return err as Error;
      }
    });
    expect(thrown).toBeInstanceOf(DsqlUnsupportedError);
    expect(thrown?.message).toMatch(/^client\.transaction\(\) was called inside a transaction\(\) callback of the same pool\. /);
  });
});

/**
 * Whether this process's AsyncLocalStorage#disable() hides the store from every async context
 * (the async_hooks-based storage: Node 20/22, or Node 24+ with --no-async-context-frame, where
 * disabling also removes the promise hooks) or only from the context that calls it (the
 * AsyncContextFrame-based storage, default from Node 24: a continuation created inside run()
 * keeps its frame — nodejs/node#58065, #58149 — and there are no hooks to remove). Probed on a
 * store of its own, so the answer is Node's, independent of the code under test.
 */
async function disableIsProcessWide(): Promise<boolean> {
  const { AsyncLocalStorage: Storage } = await import('node:async_hooks');
  const probe = new Storage<string>();
  const seen = new Promise<string | undefined>((resolve) => probe.run('inside', () => setImmediate(() => resolve(probe.getStore()))));
  probe.disable();
  return (await seen) === undefined;
}

describe('cost when idle', () => {
  it('the store is disabled when the last scope settles, and stays enabled while any is open', async () => {
    const a = {};
    const b = {};
    const holdA = deferred();
    const seen: Record<string, unknown> = {};
    let afterAllStore: unknown;
    const checked = deferred();
    const txA = runInTransactionScope(a, () => holdA.promise);
    await runInTransactionScope(b, () => {
      setTimeout(() => {
        // B settled, A still open: the store must still propagate (B's closed frame is found).
        seen.whileAOpen = sharedState().frames.getStore() !== undefined;
        seen.open = sharedState().open;
        holdA.resolve();
        void txA.then(() =>
          setTimeout(() => {
            // Every scope settled; this is work started inside B.
            afterAllStore = sharedState().frames.getStore();
            seen.afterAllInA = isInTransactionScope(a);
            seen.afterAllInB = isInTransactionScope(b);
            checked.resolve();
          }, 1),
        );
      }, 1);
    });
    await checked.promise;
    expect(seen).toEqual({ whileAOpen: true, open: 1, afterAllInA: false, afterAllInB: false });
    if (await disableIsProcessWide()) {
      // async_hooks storage: the scope module disabled it (so promises stop paying for the hooks),
      // and a disabled store returns nothing, even to work started inside a scope.
      expect(afterAllStore).toBeUndefined();
    } else {
      // AsyncContextFrame storage: disable() cannot reach frames captured by B's timer, so that work
      // still sees B's frame — closed, as is everything outer to it; nothing is left to pay for.
      expect(afterAllStore).toEqual({ owner: b, open: false, outer: undefined });
      expect((afterAllStore as { owner: object }).owner).toBe(b);
    }
  });

  it('the count returns to 0 when callbacks throw, including nested ones', async () => {
    const a = {};
    await expect(
      runInTransactionScope(a, () =>
        runInTransactionScope({}, () => {
          throw new Error('inner');
        }),
      ),
    ).rejects.toThrow('inner');
    expect(sharedState().open).toBe(0);
  });
});

describe('duplicate copies of @dsql/core', () => {
  it('an ESM copy and a CJS copy share one store: a scope opened by one is seen by the other', () => {
    const here = dirname(fileURLToPath(import.meta.url));
    // esbuild's own binary, resolved from this package's dev dependency (a fresh pnpm install has no
    // root node_modules/.bin/esbuild).
    const esbuild = join(dirname(createRequire(import.meta.url).resolve('esbuild/package.json')), 'bin', 'esbuild');
    const dir = mkdtempSync(join(tmpdir(), 'dsql-scope-'));
    try {
      for (const format of ['esm', 'cjs']) {
        execFileSync(esbuild, [
          join(here, '..', 'src', 'transaction', 'scope.ts'), '--bundle', '--platform=node', `--format=${format}`,
          '--log-level=warning', `--outfile=${join(dir, `copy.${format === 'esm' ? 'mjs' : 'cjs'}`)}`,
        ]);
      }
      const script = `
        import { createRequire } from 'node:module';
        const esm = await import(${JSON.stringify(join(dir, 'copy.mjs'))});
        const cjs = createRequire(import.meta.url)(${JSON.stringify(join(dir, 'copy.cjs'))});
        const owner = {};
        const seen = await esm.runInTransactionScope(owner, async () => {
          await new Promise((r) => setImmediate(r));
          return [cjs.isInTransactionScope(owner), cjs.nestedTransactionError(owner, 'x()', { callback: 'a cb', owner: 'o' })?.name];
        });
        const inner = await cjs.runInTransactionScope(owner, () => esm.isInTransactionScope(owner));
        console.log(JSON.stringify([...seen, inner, esm.isInTransactionScope(owner), cjs.isInTransactionScope(owner)]));`;
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
      expect(JSON.parse(out)).toEqual([true, 'DsqlUnsupportedError', true, false, false]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
