/**
 * The AWS SDK's SigV4 signer and its query-string encoding, the only parts of `@smithy/signature-v4`
 * and `@smithy/core` a DSQL token needs. Loaded on first signing (`sign-token.ts`), never at import.
 *
 * The published build bundles this module, tree-shaken, into a chunk of its own (`tsup.config.ts`):
 * `@smithy/signature-v4` requires all of `@smithy/core`'s serde, client and protocols submodules
 * (~330 KB of JavaScript for a few functions), and compiling them was ~20–25 ms of CPU in every
 * cold start (more under load); the chunk is ~35 KB of the same code. The code is the SDK's, not a
 * rewrite: updating the signer means updating the dev dependency and releasing core.
 */
export { SignatureV4 } from '@smithy/signature-v4';
export { buildQueryString } from '@smithy/core/protocols';
