/**
 * Every AD backend by id. Backends load lazily (tfjs, its wasm binary, the engine and the PyTorch
 * bridge are loaded only when asked for); one that cannot run here comes back as an
 * UnavailableBackend with its reason. tfjs is an optional peer dependency: when its packages are
 * absent the backend is unavailable with one line naming the install command (peers.ts), and
 * nothing of tfjs is imported.
 *
 *   const b = await loadBackend('tfjs-wasm');
 *   if (isUnavailable(b)) console.log(b.unavailable);
 *   const t = await loadBackend('torch', { torch: { python: '/usr/bin/python3', device: 'cpu' } });
 */

import type { MaxPoolJacobian } from '../jacobians/index.ts';
import type { TieRuleReport } from './tie_rule.ts';
import type { TorchBackendOptions } from './torch.ts';
import type { AdBackend, UnavailableBackend } from './types.ts';
import { tfjsMissing } from './peers.ts';

export const BACKEND_IDS = ['engine', 'tfjs-cpu', 'tfjs-wasm', 'tfjs-node', 'torch'] as const;
export type BackendId = (typeof BACKEND_IDS)[number];

export function isBackendId(id: string): id is BackendId {
  return (BACKEND_IDS as readonly string[]).includes(id);
}

export function isUnavailable(b: AdBackend | UnavailableBackend): b is UnavailableBackend {
  return 'unavailable' in b;
}

/** How to load the backends that take options (the PyTorch bridge: interpreter, device, module, results file). */
export interface BackendOptions {
  readonly torch?: TorchBackendOptions;
}

const cache = new Map<string, Promise<AdBackend | UnavailableBackend>>();

function create(id: BackendId, options: BackendOptions): Promise<AdBackend | UnavailableBackend> {
  if (id === 'engine') return import('./engine.ts').then((m) => m.engineBackend as AdBackend);
  if (id === 'torch') return import('./torch.ts').then((m) => m.createTorchBackend(options.torch));
  return loadTfjs(id);
}

/** A tfjs backend, or why it cannot run: its packages missing (checked before importing anything of tfjs), or tfjs failing to load. */
async function loadTfjs(id: Exclude<BackendId, 'engine' | 'torch'>): Promise<AdBackend | UnavailableBackend> {
  const missing = tfjsMissing(id);
  if (missing) return { id, unavailable: missing };
  let m: typeof import('./tfjs.ts');
  try {
    m = await import('./tfjs.ts');
  } catch (e) {
    return { id, unavailable: `@tensorflow/tfjs failed to load: ${String(e instanceof Error ? e.message : e).split('\n')[0]}` };
  }
  return m.createTfjsBackend(id);
}

/** Load a backend by id (one instance per id and options); throws for an unknown id, with the list of valid ones. */
export function loadBackend(id: string, options: BackendOptions = {}): Promise<AdBackend | UnavailableBackend> {
  if (!isBackendId(id)) {
    return Promise.reject(new Error(`unknown backend '${id}': expected one of ${BACKEND_IDS.join(', ')}`));
  }
  const key = id === 'torch' ? `torch ${JSON.stringify(options.torch ?? {})}` : id;
  let p = cache.get(key);
  if (!p) {
    p = create(id, options);
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

/**
 * Which MaxPool rule a backend applies at exact ties ('first' | 'last' | 'minnorm' | 'other'), with
 * the evidence (see tie_rule.ts). Throws when the backend is unavailable.
 */
export async function measureTieRule(backendId: string, options: BackendOptions = {}): Promise<TieRuleReport> {
  const b = await loadBackend(backendId, options);
  if (isUnavailable(b)) throw new Error(`cannot measure the tie rule of ${backendId}: ${b.unavailable}`);
  const { measureTieRuleOf } = await import('./tie_rule.ts');
  return measureTieRuleOf(b);
}

/** The backends a run asked for: those that load, those that cannot (with why), and the measured tie rule of each fixed-Jacobian one. */
export interface LoadedBackends {
  readonly backends: AdBackend[];
  readonly unavailable: UnavailableBackend[];
  /** Backend id → the family member its MaxPool gradient was measured to follow (first / last / minnorm). */
  readonly tieRules: Record<string, MaxPoolJacobian>;
  readonly tieEvidence: { backend: string; rule: string; evidence: string }[];
}

/**
 * Load `ids` in order, logging one line for each that cannot run here (and for each that returns no
 * forward values: its verdicts are marked), and measure the tie rule of every framework backend.
 */
export async function loadBackends(
  ids: readonly string[],
  log: (line: string) => void,
  options: BackendOptions = {},
): Promise<LoadedBackends> {
  const out: LoadedBackends = { backends: [], unavailable: [], tieRules: {}, tieEvidence: [] };
  for (const id of ids) {
    const b = await loadBackend(id, options);
    if (isUnavailable(b)) {
      log(`skipping ${b.id}: ${b.unavailable}`);
      out.unavailable.push(b);
      continue;
    }
    out.backends.push(b);
    if (!b.forwardValues)
      log(`${b.id} returns no forward values: a routing defect cannot be told from rounding, so its verdicts are marked no-forward`);
    if (b.fixedJacobian) {
      const m = await measureTieRule(b.id, options);
      out.tieEvidence.push({ backend: b.id, rule: m.rule, evidence: m.evidence });
      if (m.rule === 'first' || m.rule === 'last' || m.rule === 'minnorm') out.tieRules[b.id] = { kind: m.rule };
    }
  }
  return out;
}
