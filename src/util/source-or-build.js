// How a worker entry (a plain .js file, so Node can start it before any loader) loads its worker,
// chosen as bin/adzone.js chooses: beside <name>.ts (a checkout's src/) the TypeScript runs through
// tsx; in dist/ (the installed package) <name>.js runs on plain Node, where tsx (a devDependency)
// may not be installed at all. Plain JavaScript for the same reason as the entries that call it.
import { existsSync } from 'node:fs';

/** Imports `<name>.ts` beside `base` (an import.meta.url) through tsx when it exists, else `<name>.js`. */
export async function importSourceOrBuild(base, name) {
  const source = new URL(`./${name}.ts`, base);
  if (existsSync(source)) {
    const { register } = await import('tsx/esm/api');
    register();
    return import(source.href);
  }
  return import(new URL(`./${name}.js`, base).href);
}
