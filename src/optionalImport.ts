import { UsageError } from './errors.js';

/** The name npm installs a specifier under: `vega-lite/build/x` -> `vega-lite`, `@a/b/c` -> `@a/b`. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return parts.slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
}

/**
 * Imports a package that a production install (`npm ci --omit=dev --omit=optional`) leaves out.
 * Only the package's own absence becomes `missing` (one line, exit 2): anything else, a broken
 * dependency of it included, is a real failure and goes up as it is.
 */
export async function importOptional<T>(specifier: string, missing: string): Promise<T> {
  try {
    return (await import(specifier)) as T;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_MODULE_NOT_FOUND' && e.message.includes(`'${packageOf(specifier)}'`)) throw new UsageError(missing);
    throw err;
  }
}
