/**
 * TensorFlow.js as an AD system under test (docs/DESIGN.md §5 `backends`): 'tfjs-cpu', 'tfjs-wasm' and
 * 'tfjs-node' (tfjs's 'tensorflow' backend, from the optional peer @tensorflow/tfjs-node).
 *
 * tfjs has float32 tensors only, and fixes the Jacobians itself: its MaxPool rule at ties is
 * measured (`measureTieRule`: cpu 'first', wasm 'last'), its ReLU'(0) is 0 (the gradient is
 * dy · step(x), step(0) = 0). opts.jacobian and opts.accumulate are therefore ignored.
 *
 * Known defect, measured and left in place (it is the system under test): tfjs-backend-wasm
 * 4.22's MaxPoolGrad starts its running max at FLT_MIN = 2^-126 (`std::numeric_limits<float>::min()`)
 * with default position 0, so every window whose maximum is below 2^-126 (all-zero, all-negative)
 * sends its gradient to flat input 0 if the window contains it and otherwise drops it. Harmless
 * right after a ReLU (ReLU'(0) = 0 erases it), wrong for a MaxPool on signed values.
 *
 *   const b = await createTfjsBackend('tfjs-wasm');
 *   if ('unavailable' in b) console.log(b.unavailable); else await b.run(problem, opts);
 */
import type { Problem } from '../problem/index.ts';
import { type PadMode, runChain } from './tfjs/chain.ts';
import { activate, BACKEND_PACKAGE, exclusive, loadBackendPackage, packageVersion, type TfjsBackendName, tf } from './tfjs/runtime.ts';
import type { AdBackend, BackendResult, BackendRunOptions, UnavailableBackend } from './types.ts';
import { tfjsMissing } from './peers.ts';

export { type PadMode, runChain } from './tfjs/chain.ts';
export { activate, exclusive, isInstalled, type TfjsBackendName, tf } from './tfjs/runtime.ts';
export { CHAIN_KERNELS, conv2DBackpropFilterViaConv2D, missingWasmKernels, registerWasmGradKernels } from './tfjs/wasm_kernels.ts';
export {
  maxPoolWindows,
  measureTieRuleOf,
  ruleRow,
  type TieRule,
  type TieRuleReport,
  tieRuleCases,
  type WindowObservation,
} from './tie_rule.ts';

export type TfjsBackendId = 'tfjs-cpu' | 'tfjs-wasm' | 'tfjs-node';

/** Our backend ids → tfjs's backend names. */
export const TFJS_BACKENDS: Readonly<Record<TfjsBackendId, TfjsBackendName>> = {
  'tfjs-cpu': 'cpu',
  'tfjs-wasm': 'wasm',
  'tfjs-node': 'tensorflow',
};

export { TFJS_NODE_MISSING } from './peers.ts';

export function isTfjsBackendId(id: string): id is TfjsBackendId {
  return Object.hasOwn(TFJS_BACKENDS, id);
}

export interface TfjsBackendOptions {
  /**
   * How padding reaches tfjs (see tfjs/chain.ts): 'explicit' ExplicitPadding (default for cpu and
   * wasm) or 'manual' tf.pad + 'valid' (default for tfjs-node, whose kernels take no explicit padding).
   */
  readonly padMode?: PadMode;
}

class TfjsAdBackend implements AdBackend {
  readonly precisions = ['32'] as const;
  readonly fixedJacobian = true;
  readonly forwardValues = true;
  constructor(
    readonly id: TfjsBackendId,
    readonly tfjsName: TfjsBackendName,
    readonly description: string,
    readonly versions: Readonly<Record<string, string>>,
    readonly padMode: PadMode,
  ) {}

  run(problem: Problem, opts: BackendRunOptions): Promise<BackendResult> {
    if (!this.precisions.includes(opts.precision as '32')) {
      return Promise.reject(
        new Error(
          `${this.id} computes in float32 only (tfjs has no float16 or float64 tensors); precision '${opts.precision}' was asked for`,
        ),
      );
    }
    return exclusive(async () => {
      await activate(this.tfjsName);
      return runChain(problem, this.padMode);
    });
  }
}

function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split('\n')[0];
}

/**
 * Load and initialise one tfjs backend. Never throws for a backend that cannot run here: returns an
 * UnavailableBackend whose one line says why (tfjs-node absent, wasm failing to instantiate, ...).
 */
export async function createTfjsBackend(id: TfjsBackendId, options: TfjsBackendOptions = {}): Promise<AdBackend | UnavailableBackend> {
  const name = TFJS_BACKENDS[id];
  if (!name) throw new Error(`unknown tfjs backend '${id}': expected one of ${Object.keys(TFJS_BACKENDS).join(', ')}`);
  const pkg = BACKEND_PACKAGE[name];
  const missing = tfjsMissing(id);
  if (missing) return { id, unavailable: missing };
  try {
    await loadBackendPackage(name);
  } catch (e) {
    return { id, unavailable: `${id}: ${pkg} failed to load: ${firstLine(e)}` };
  }
  let features = '';
  try {
    features = await exclusive(async () => {
      await activate(name);
      if (name !== 'wasm') return '';
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
      return `, ${simd ? 'SIMD' : 'no SIMD'}, ${threads ? 'threads' : 'no threads'}, Conv2DBackpropFilter added by adzone (conv2d of transposed tensors)`;
    });
  } catch (e) {
    return { id, unavailable: `${id}: tfjs backend '${name}' failed to initialise: ${firstLine(e)}` };
  }
  const tfjsVersion = packageVersion('@tensorflow/tfjs') ?? tf.version.tfjs ?? 'unknown';
  const backendVersion = packageVersion(pkg) ?? 'unknown';
  const padMode = options.padMode ?? (name === 'tensorflow' ? 'manual' : 'explicit');
  const description =
    `TensorFlow.js ${tfjsVersion}, '${name}' backend (${pkg} ${backendVersion}${features}): float32 only, ` +
    `MaxPool and ReLU Jacobians fixed by tfjs (ReLU'(0) = 0; MaxPool tie rule measured), ${padMode} padding`;
  return new TfjsAdBackend(id, name, description, { '@tensorflow/tfjs': tfjsVersion, [pkg]: backendVersion }, padMode);
}
