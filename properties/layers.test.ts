/**
 * The layer rule of src/layers.json, checked over the whole import graph of src/ (type-only imports
 * included) by dependency-cruiser with the project's .dependency-cruiser.cjs. A folder that imports
 * from a later layer, or a folder missing from layers.json, fails here with the offending import.
 */
import { createRequire } from 'node:module';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cruise, type ICruiseResult } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);

async function violations(root: string): Promise<string[]> {
  const config = require(join(root, '.dependency-cruiser.cjs'));
  const cwd = process.cwd();
  process.chdir(root);
  try {
    const r = await cruise(['src'], { ...config.options, ruleSet: { forbidden: config.forbidden }, validate: true });
    const out = r.output as ICruiseResult;
    return out.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
  } finally {
    process.chdir(cwd);
  }
}

describe('layers (src/layers.json)', () => {
  it('every folder under src/ is declared, once', () => {
    const declared = (require('../src/layers.json') as (string | string[])[]).flat();
    const folders = readdirSync('src', { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    expect(new Set(declared).size).toBe(declared.length);
    expect(folders.filter((f) => !declared.includes(f))).toEqual([]);
  });

  it('no folder imports from a later layer', async () => {
    expect(await violations(process.cwd())).toEqual([]);
  });

  it('an import from a later layer is caught (a scratch copy with one upward import)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'adzone-layers-'));
    try {
      cpSync('.dependency-cruiser.cjs', join(dir, '.dependency-cruiser.cjs'));
      cpSync('tsconfig.json', join(dir, 'tsconfig.json'));
      mkdirSync(join(dir, 'src', 'precision'), { recursive: true });
      mkdirSync(join(dir, 'src', 'cli'), { recursive: true });
      cpSync('src/layers.json', join(dir, 'src', 'layers.json'));
      writeFileSync(join(dir, 'src', 'cli', 'main.ts'), 'export type Main = number;\n');
      writeFileSync(join(dir, 'src', 'precision', 'format.ts'), "import type { Main } from '../cli/main.ts';\nexport const x: Main = 1;\n");
      expect(await violations(dir)).toEqual(['layer-precision: src/precision/format.ts → src/cli/main.ts']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
