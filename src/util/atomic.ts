import { writeFilesAtomic } from './output.ts';

/**
 * Write a file atomically: write a temporary file beside it, then rename over the target, so a
 * reader (or a concurrent writer) sees either the old or the new file, never a torn one. Its
 * folder is made when missing; a failure is an InputError naming the path.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  writeFilesAtomic([{ path, data }]);
}

/** JSON with a trailing newline; non-finite numbers are written as strings ('NaN', 'Infinity', '-Infinity'). */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2)}\n`;
}
