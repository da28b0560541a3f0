/**
 * The one place that owns tfjs's global state: which backend is active, which extra kernels are
 * registered, and the lock that keeps runs on different backends from interleaving.
 *
 * tfjs has a single global engine with one active backend. A run switches to its backend
 * (tf.setBackend + await tf.ready()) and then computes synchronously, all inside `exclusive`, so
 * cpu, wasm and tensorflow runs can alternate (or be awaited concurrently) in one process.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { registerWasmGradKernels } from './wasm_kernels.ts';

export { tf };

/** tfjs's own backend names. */
export type TfjsBackendName = 'cpu' | 'wasm' | 'tensorflow';

/** The npm package that provides each backend. */
export const BACKEND_PACKAGE: Readonly<Record<TfjsBackendName, string>> = {
  cpu: '@tensorflow/tfjs-backend-cpu',
  wasm: '@tensorflow/tfjs-backend-wasm',
  tensorflow: '@tensorflow/tfjs-node',
};

const require = createRequire(import.meta.url);

/** `version` from an installed package's package.json, or undefined when it is not installed. */
export function packageVersion(pkg: string): string | undefined {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
}

export { isInstalled } from '../../util/peers.ts';

let queue: Promise<unknown> = Promise.resolve();

/** Run `fn` after every previously queued tfjs job has settled (a FIFO mutex). */
export function exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
  const next = queue.then(fn, fn);
  queue = next.catch(() => undefined);
  return next;
}

const loaded = new Map<TfjsBackendName, Promise<void>>();

/**
 * Make the backend's package register itself with tfjs (cpu ships inside @tensorflow/tfjs; wasm is
 * imported on demand; tensorflow needs the optional @tensorflow/tfjs-node). Throws when it cannot.
 */
export function loadBackendPackage(name: TfjsBackendName): Promise<void> {
  let p = loaded.get(name);
  if (!p) {
    p = (async () => {
      if (name === 'wasm') {
        await import('@tensorflow/tfjs-backend-wasm');
        registerWasmGradKernels();
      } else if (name === 'tensorflow') {
        // A variable specifier: the package is an optional peer and may be absent at type-check time.
        const spec = BACKEND_PACKAGE.tensorflow;
        await import(spec);
      }
      if (!tf.findBackendFactory(name)) {
        throw new Error(
          `${BACKEND_PACKAGE[name]} loaded but did not register backend '${name}' with this copy of @tensorflow/tfjs-core (${tf.version_core}): install matching versions`,
        );
      }
    })();
    loaded.set(name, p);
    p.catch(() => loaded.delete(name));
  }
  return p;
}

/**
 * Activate a backend (call inside `exclusive`). Silences tfjs cpu's one-time "install tfjs-node"
 * banner, which is advice, not a diagnostic, and would otherwise land in every report's log.
 */
export async function activate(name: TfjsBackendName): Promise<void> {
  await loadBackendPackage(name);
  if (tf.engine().backendName !== name) {
    const ok = await tf.setBackend(name);
    if (!ok) throw new Error(`tfjs backend '${name}' failed to initialise`);
  }
  await tf.ready();
  if (name === 'cpu') {
    const b = tf.engine().findBackend('cpu') as unknown as { firstUse?: boolean } | null;
    if (b && 'firstUse' in b) b.firstUse = false;
  }
}
