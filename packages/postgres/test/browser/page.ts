/**
 * The page of browser.integration.test.ts with `@dsql/postgres/browser` from source, bundled by
 * esbuild with browser-build.ts's plugins (as the published entry is built). The test also
 * bundles the same demos against the built package (support/browser-page.ts).
 */
import { dsql, transaction } from '../../src/browser.js';
import { installDemos } from './demos.js';

installDemos({ dsql, transaction });
