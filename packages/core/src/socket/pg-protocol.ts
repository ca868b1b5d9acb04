import { createRequire } from 'node:module';
import type * as ProtocolModule from 'pg-protocol';
import type * as ParserModule from 'pg-protocol/dist/parser.js';

/** What the startup handshake uses of pg-protocol: its message writer and its parser. */
export interface PgProtocol {
  readonly serialize: typeof ProtocolModule.serialize;
  readonly Parser: typeof ParserModule.Parser;
}

let loading: Promise<PgProtocol> | undefined;

/**
 * pg-protocol, loaded at the first connection instead of at import (Postgres.js itself does not
 * use it; only our startup handshake does), through `require` where Node can: it is CommonJS,
 * and importing CommonJS from ESM makes Node's ESM loader lex each of its files for named exports
 * — measured on Node 20: ~16 ms of CPU by `import`, ~8 ms by `require`. Where there is nothing to
 * require from — an application bundle: esbuild, rollup and webpack bundle what a literal
 * `import()` names, not what a `createRequire` loads — the `import()`s answer. (The CommonJS
 * build gets `import.meta.url` from tsup's shims.)
 *
 * @example
 * const { serialize, Parser } = await loadPgProtocol();
 */
export function loadPgProtocol(): Promise<PgProtocol> {
  loading ??= load().catch((err: unknown) => {
    loading = undefined;
    throw err;
  });
  return loading;
}

function load(): Promise<PgProtocol> {
  try {
    const nodeRequire = createRequire(import.meta.url);
    const { serialize } = nodeRequire('pg-protocol') as typeof ProtocolModule;
    const { Parser } = nodeRequire('pg-protocol/dist/parser.js') as typeof ParserModule;
    return Promise.resolve({ serialize, Parser });
  } catch {
    return Promise.all([import('pg-protocol'), import('pg-protocol/dist/parser.js')]).then(([protocol, parser]) => ({
      serialize: protocol.serialize,
      Parser: parser.Parser,
    }));
  }
}
