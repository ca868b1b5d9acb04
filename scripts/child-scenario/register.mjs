// `node --import <this file> script.ts`: runs workspace TypeScript sources (see hooks.mjs).
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
