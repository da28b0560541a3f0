/**
 * The plain-JavaScript entry points under src/ (worker threads and processes) are copied into dist/
 * as they are, beside compiled .js files and no .ts: an entry that loads `./x.ts` must also have the
 * `./x.js` branch the installed package takes, and must load tsx (a devDependency, absent from an
 * install) only on the .ts branch, never statically. (`adzone zones --jobs 2` from dist/ failed
 * with "Cannot find module …/worker.ts" before the network-zones entry got its dist branch.)
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? jsFiles(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : [],
  );
}

/** Relative specifiers a file names as string literals (imports, import(), new URL). */
const specifiers = (text: string) => [...text.matchAll(/['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]);

describe('plain-JavaScript entry points under src/', () => {
  const files = jsFiles(SRC);

  it('exist (the check below has something to check)', () => {
    expect(files.map((f) => relative(SRC, f))).toContain(join('zones', 'network', 'worker-entry.js'));
  });

  it.each(files.map((f) => [relative(SRC, f), f]))(
    '%s runs from dist/: a .js branch for every .ts it loads, tsx only on the .ts branch',
    (_, file) => {
      const text = readFileSync(file, 'utf8');
      const names = specifiers(text);
      for (const ts of names.filter((s) => s.endsWith('.ts'))) expect(names, `${ts} has no .js twin`).toContain(ts.replace(/\.ts$/, '.js'));
      expect(text, 'a static import of tsx fails where tsx is not installed').not.toMatch(/^\s*import\s[^(]*['"]tsx[/'"]/m);
    },
  );
});
