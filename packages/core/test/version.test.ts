import { VERSION } from '../src/index.js';
import pkg from '../package.json' with { type: 'json' };

test('VERSION matches package.json', () => {
  expect(VERSION).toBe(pkg.version);
});
