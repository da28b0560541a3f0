#!/usr/bin/env node
// Builds dist/, what the npm package runs: `npm run build`, and `prepare` / `prepack` so that
// `npm ci`, a git install and `npm pack` all build. Plain Node (no tsx): a git install runs it
// before anything else exists.
//
//   1. tsc -p tsconfig.build.json: src/**/*.ts → dist/**/*.js + .d.ts (relative `.ts` imports
//      rewritten to `.js` by rewriteRelativeImportExtensions).
//   2. The .d.ts files keep `.ts` in their relative imports (tsc rewrites only the JavaScript);
//      they are rewritten to `.js` here, the form every TypeScript version resolves.
//   3. Every other file under src/ (kernels.wasm, bench's worker entry and Python script, ...)
//      is copied to the same place under dist/, so `new URL('./x', import.meta.url)` finds it from
//      dist exactly as from src.
//   4. Every `new URL('<relative>', import.meta.url)` in dist/**/*.js must name a file that exists
//      in dist/ (or a folder above it): a missing asset fails the build, not a user's run. Targets
//      ending in .ts are skipped: they are the checkout branch of files that also run from src/.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');
/** Files of src/ that are neither compiled nor shipped. */
const NOT_SHIPPED = [/\.as\.ts$/, /(^|\/)nightly\/vitest\.config\.ts$/];

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)]));
}

/**
 * tsc's exit 2 means "type errors, JavaScript emitted anyway". Packing or publishing such a build
 * fails; installing the repository (npm ci / npm install run `prepare`) goes on with a warning, so a
 * type error fails `npm run typecheck` in CI instead of the install that every test needs.
 */
function compile() {
  const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (r.status === 0) return;
  const installing = ['ci', 'install'].includes(process.env.npm_command ?? '');
  if (r.status === 2 && installing) {
    console.error('build: dist/ emitted WITH TYPE ERRORS (above; `npm run typecheck`): fine for developing, not for packing');
    return;
  }
  throw new Error(`tsc -p tsconfig.build.json failed (exit ${r.status})`);
}

/** Node's own types in a declaration file: tsc does not always emit the reference that brings them. */
const USES_NODE_TYPES = /\bNodeJS\.|\bBuffer\b|from ['"]node:/;
const NODE_REFERENCE = '/// <reference types="node" />\n';

/**
 * `from './x.ts'`, `import('./x.ts')` and `declare module './x.ts'` → `.js`, relative specifiers only;
 * a file that uses Node's types references them, so a consumer with `"types": []` (no global
 * @types/node) still type-checks: @types/node is one of adzone's dependencies.
 */
function rewriteDeclarations() {
  let n = 0;
  for (const f of walk(dist).filter((x) => x.endsWith('.d.ts'))) {
    const text = readFileSync(f, 'utf8');
    let out = text.replace(/((?:from|import\(|module)\s*['"])(\.{1,2}\/[^'"]*?)\.ts(['"])/g, '$1$2.js$3');
    if (USES_NODE_TYPES.test(out) && !out.includes(NODE_REFERENCE)) out = NODE_REFERENCE + out;
    if (out !== text) {
      writeFileSync(f, out);
      n++;
    }
  }
  return n;
}

function copyAssets() {
  const copied = [];
  for (const f of walk(src)) {
    const rel = relative(src, f);
    if (rel.endsWith('.ts') || NOT_SHIPPED.some((re) => re.test(rel))) continue;
    mkdirSync(dirname(join(dist, rel)), { recursive: true });
    copyFileSync(f, join(dist, rel));
    copied.push(rel);
  }
  return copied;
}

function checkAssetUrls() {
  const missing = [];
  for (const f of walk(dist).filter((x) => x.endsWith('.js'))) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/new URL\(\s*['"](\.{1,2}\/[^'"]*)['"]\s*,\s*import\.meta\.url\s*\)/g)) {
      // A .ts target is the checkout-only branch (run through tsx beside the source), never taken from dist.
      if (m[1].endsWith('.ts')) continue;
      if (!existsSync(fileURLToPath(new URL(m[1], `file://${f}`)))) missing.push(`${relative(dist, f)}: ${m[1]}`);
    }
  }
  if (missing.length) throw new Error(`assets that dist/ code loads but the build did not produce:\n  ${missing.join('\n  ')}`);
}

const t0 = Date.now();
rmSync(dist, { recursive: true, force: true });
try {
  compile();
  const rewritten = rewriteDeclarations();
  const copied = copyAssets();
  checkAssetUrls();
  console.log(
    `built dist/ in ${((Date.now() - t0) / 1000).toFixed(1)} s (${rewritten} declaration files' imports rewritten to .js; copied ${copied.join(', ')})`,
  );
} catch (e) {
  console.error(`build failed: ${e instanceof Error ? e.message : e}`);
  process.exitCode = 1;
}
