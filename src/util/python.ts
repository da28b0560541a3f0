/**
 * Finding a Python interpreter that can import a given module (torch, for the PyTorch bridge and
 * the bench's PyTorch peer). The first `python3` on PATH is often a virtualenv or pyenv shim
 * without the module while the system one has it, so every candidate is asked, in order: the one
 * the user named (option or ADZONE_PYTHON), then `python3` and `python` on PATH, then the system
 * interpreters. A named interpreter that lacks the module is an answer, not a reason to look further.
 */
import { spawnSync } from 'node:child_process';

export interface PythonFound {
  readonly python: string;
  /** `<module>.__version__` as that interpreter reports it. */
  readonly moduleVersion: string;
  readonly pythonVersion: string;
}

export interface PythonMissing {
  /** One line saying which interpreters were asked and what to do. */
  readonly missing: string;
}

const SYSTEM_CANDIDATES = ['python3', 'python', '/usr/bin/python3', '/usr/local/bin/python3'];

/** Ask one interpreter for the module's version; undefined when it cannot run or lacks the module. */
export function probePython(python: string, module: string, timeoutMs = 60_000): PythonFound | undefined {
  const code = `import sys, ${module}; print(getattr(${module}, '__version__', '?')); print(sys.version.split()[0])`;
  const r = spawnSync(python, ['-c', code], { encoding: 'utf8', timeout: timeoutMs });
  if (r.status !== 0 || typeof r.stdout !== 'string') return undefined;
  const [moduleVersion, pythonVersion] = r.stdout.trim().split('\n');
  if (!moduleVersion || !pythonVersion) return undefined;
  return { python, moduleVersion, pythonVersion };
}

/**
 * The first interpreter that imports `module`: `explicit` (or the ADZONE_PYTHON env variable) when
 * given, else the candidates in order.
 */
export function findPython(module: string, explicit?: string, env: NodeJS.ProcessEnv = process.env): PythonFound | PythonMissing {
  const named = explicit ?? env.ADZONE_PYTHON;
  if (named) {
    return (
      probePython(named, module) ?? {
        missing: `${named} (from ${explicit ? 'the option' : 'ADZONE_PYTHON'}) cannot import ${module}; install it there or name another interpreter`,
      }
    );
  }
  for (const c of SYSTEM_CANDIDATES) {
    const found = probePython(c, module);
    if (found) return found;
  }
  return {
    missing: `no Python with ${module} found (asked ${SYSTEM_CANDIDATES.join(', ')}); install it (Debian: apt-get install -y --no-install-recommends python3-${module}) or set ADZONE_PYTHON`,
  };
}
