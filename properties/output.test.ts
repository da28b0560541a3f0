/** src/util/output.ts: writability checked before work, multi-file writes as one transaction, no spinning mkdir. */
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../src/util/errors.ts';
import { assertWritableDir, assertWritableFile, ensureDir, writeFilesAtomic } from '../src/util/output.ts';

const dirs: string[] = [];
const scratch = () => {
  const d = mkdtempSync(join(tmpdir(), 'adzone-out-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) {
    chmodSync(d, 0o755);
    rmSync(d, { recursive: true, force: true });
  }
});

describe('outputs', () => {
  it('ensureDir makes missing parents and refuses a file in the way, naming it', () => {
    const d = scratch();
    ensureDir(join(d, 'a', 'b', 'c'));
    expect(existsSync(join(d, 'a', 'b', 'c'))).toBe(true);
    writeFileSync(join(d, 'f'), 'x');
    expect(() => ensureDir(join(d, 'f', 'sub'))).toThrow(/f is a file, not a folder/);
  });

  it('a path under /proc fails at once instead of spinning (Node recursive mkdir loops there)', () => {
    const t0 = Date.now();
    expect(() => assertWritableDir('/proc/adzone-x/y')).toThrow(InputError);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('an output file that is a folder is refused before any work', () => {
    const d = scratch();
    expect(() => assertWritableFile(d)).toThrow(/is a folder; give a file name/);
  });

  it('a probe leaves no file behind', () => {
    const d = scratch();
    assertWritableDir(d);
    expect(readdirSync(d)).toEqual([]);
  });

  it('writeFilesAtomic replaces nothing when one of the files cannot be written', () => {
    const d = scratch();
    writeFileSync(join(d, 'a.txt'), 'old');
    writeFileSync(join(d, 'blocker'), 'i am a file');
    expect(() =>
      writeFilesAtomic([
        { path: join(d, 'a.txt'), data: 'new' },
        { path: join(d, 'blocker', 'b.txt'), data: 'new' },
      ]),
    ).toThrow(InputError);
    expect(readFileSync(join(d, 'a.txt'), 'utf8')).toBe('old');
    expect(readdirSync(d).sort()).toEqual(['a.txt', 'blocker']);
  });
});

describe('findPython', async () => {
  const { findPython } = await import('../src/util/python.ts');
  it('a named interpreter without the module is reported as missing, naming it', () => {
    const r = findPython('no_such_module_adzone', '/bin/false');
    expect('missing' in r && r.missing).toMatch(/\/bin\/false .*cannot import no_such_module_adzone/);
  });
  it('looks past a python3 on PATH that lacks the module (json is everywhere; a bogus module nowhere)', () => {
    const ok = findPython('json', undefined, {});
    expect('python' in ok).toBe(true);
    const none = findPython('no_such_module_adzone', undefined, {});
    expect('missing' in none && none.missing).toMatch(/asked python3, python, \/usr\/bin\/python3/);
  });
});
