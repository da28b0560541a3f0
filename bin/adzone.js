#!/usr/bin/env node
// Entry point. From a checkout (src/ present and tsx installed) the TypeScript source runs through
// tsx, so development never runs a stale build; from an installed package (no src/, no tsx) the
// compiled dist/ runs on plain Node. ADZONE_DIST=1 runs dist/ from a checkout too (after npm run build).
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
const compiled = new URL('../dist/cli/main.js', import.meta.url);

/** tsx's loader, or undefined when tsx is not installed (an installed package: tsx is a devDependency). */
async function tsxRegister() {
  try {
    return (await import('tsx/esm/api')).register;
  } catch {
    return undefined;
  }
}

async function loadMain() {
  if (process.env.ADZONE_DIST !== '1' && existsSync(source)) {
    const register = await tsxRegister();
    if (register) {
      register();
      return (await import(source.href)).main;
    }
  }
  if (existsSync(compiled)) return (await import(compiled.href)).main;
  return undefined;
}

const main = await loadMain();
if (main) {
  process.exitCode = await main(process.argv.slice(2));
} else {
  process.stderr.write(
    'adzone: dist/ is not built and tsx is not installed: run `npm install` (or `npm run build`) in the adzone folder\n',
  );
  process.exitCode = 2;
}
