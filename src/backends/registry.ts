/**
 * Every AD backend by id. Backends load lazily (tfjs, its wasm binary and the engine are imported
 * only when asked for); one that cannot run here comes back as an UnavailableBackend with its reason.
 * tfjs is an optional peer dependency: when its packages are absent the backend is unavailable with
 * one line naming the install command (peers.ts), and nothing of tfjs is imported.
 *
 *   const b = await loadBackend('tfjs-wasm');
 *   if (isUnavailable(b)) console.log(b.unavailable);
 */
import type { AdBackend, UnavailableBackend } from './types.ts';
import type { TieRuleReport } from './tfjs/tie_rule.ts';
import type { MaxPoolJacobian } from '../jacobians/index.ts';
import { tfjsMissing } from './peers.ts';

export const BACKEND_IDS = ['engine', 'tfjs-cpu', 'tfjs-wasm', 'tfjs-node'] as const;
export type BackendId = (typeof BACKEND_IDS)[number];

export function isBackendId(id: string): id is BackendId {
  return (BACKEND_IDS as readonly string[]).includes(id);
}

export function isUnavailable(b: AdBackend | UnavailableBackend): b is UnavailableBackend {
  return 'unavailable' in b;
}

const cache = new Map<BackendId, Promise<AdBackend | UnavailableBackend>>();

/** Load a backend by id; throws for an unknown id, with the list of valid ones. */
export function loadBackend(id: string): Promise<AdBackend | UnavailableBackend> {
  if (!isBackendId(id)) {
    return Promise.reject(new Error(`unknown backend '${id}': expected one of ${BACKEND_IDS.join(', ')}`));
  }
  let p = cache.get(id);
  if (!p) {
    p = id === 'engine' ? import('./engine.ts').then((m) => m.engineBackend as AdBackend) : loadTfjs(id);
    cache.set(id, p);
    p.catch(() => cache.delete(id));
  }
  return p;
}

/** A tfjs backend, or why it cannot run: its packages missing (checked before importing anything of tfjs), or tfjs failing to load. */
async function loadTfjs(id: Exclude<BackendId, 'engine'>): Promise<AdBackend | UnavailableBackend> {
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

/**
 * Which MaxPool rule a backend applies at exact ties ('first' | 'last' | 'minnorm' | 'other'), with
 * the evidence (see tfjs/tie_rule.ts). Throws when the backend is unavailable.
 */
export async function measureTieRule(backendId: string): Promise<TieRuleReport> {
  const b = await loadBackend(backendId);
  if (isUnavailable(b)) throw new Error(`cannot measure the tie rule of ${backendId}: ${b.unavailable}`);
  const { measureTieRuleOf } = await import('./tfjs/tie_rule.ts');
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

/** Load `ids` in order, logging one line for each that cannot run here, and measure the tie rule of every framework backend. */
export async function loadBackends(ids: readonly string[], log: (line: string) => void): Promise<LoadedBackends> {
  const out: LoadedBackends = { backends: [], unavailable: [], tieRules: {}, tieEvidence: [] };
  for (const id of ids) {
    const b = await loadBackend(id);
    if (isUnavailable(b)) {
      log(`skipping ${b.id}: ${b.unavailable}`);
      out.unavailable.push(b);
      continue;
    }
    out.backends.push(b);
    if (b.fixedJacobian) {
      const m = await measureTieRule(b.id);
      out.tieEvidence.push({ backend: b.id, rule: m.rule, evidence: m.evidence });
      if (m.rule === 'first' || m.rule === 'last' || m.rule === 'minnorm') out.tieRules[b.id] = { kind: m.rule };
    }
  }
  return out;
}
