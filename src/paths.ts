import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The package root: compiled files live in dist/src/, sources and SQL in src/. */
export const projectRoot = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
