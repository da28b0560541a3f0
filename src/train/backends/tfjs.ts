/**
 * tfjs as a training backend: the model twins of src/backends/tfjs/models.ts on tfjs's wasm or cpu
 * backend, float32 (mode 'framework') or binary16 `wide` emulated. tfjs is an optional peer,
 * imported only when a trainer is made.
 */
import { tfjsMissing } from '../../backends/peers.ts';
import { InputError } from '../../util/errors.ts';
import type { NetTrainer, TrainBackend, TrainerOptions, TrainPrecision } from '../backend.ts';
import { countCorrect } from './count.ts';

type TfjsId = 'tfjs-wasm' | 'tfjs-cpu';

async function tfjsTrainer(o: TrainerOptions): Promise<NetTrainer> {
  // tfjs is an optional peer: say what to install (or to train on the engine) before importing any of it.
  const missing = tfjsMissing(o.backend === 'tfjs-wasm' ? 'tfjs-wasm' : 'tfjs-cpu');
  if (missing) throw new InputError(`backend ${o.backend}: ${missing}; or train with backend engine`);
  const { tfjsTrainStep, tfjsEvaluate } = await import('../../backends/tfjs/models.ts');
  const { activate, exclusive } = await import('../../backends/tfjs/runtime.ts');
  const name = o.backend === 'tfjs-wasm' ? 'wasm' : 'cpu';
  if (o.precision === '64' || o.precision === 'bf16') throw new Error(`tfjs cannot train at precision ${o.precision}`);
  const precision = o.precision;
  await exclusive(() => activate(name));
  const state = {
    spec: o.spec,
    params: new Map([...o.params].map(([k, v]) => [k, v.slice()] as const)),
    buffers: new Map([...(o.buffers ?? new Map<string, Float64Array>())].map(([k, v]) => [k, v.slice()] as const)),
  };
  const classes = o.spec.classes;
  return {
    backend: o.backend,
    params: state.params,
    buffers: () => state.buffers,
    async step(batch, optimizer, lossScale) {
      if (lossScale) throw new Error('loss scaling runs on the engine only');
      const r = await tfjsTrainStep(state, batch, { backend: name, precision, jacobian: o.jacobian }, optimizer);
      return { loss: r.loss, correct: countCorrect(r.logits, batch.labels, classes), skipped: false };
    },
    async evaluate(batch) {
      const r = await tfjsEvaluate(o.spec, state.params, batch, { backend: name, precision, jacobian: o.jacobian, buffers: state.buffers });
      return { loss: r.loss, correct: countCorrect(r.logits, batch.labels, classes) };
    },
    versions: await tfjsVersions(name, precision),
  };
}

/** The packages and flags that decide tfjs's numbers. */
async function tfjsVersions(name: 'wasm' | 'cpu', precision: '16' | '32'): Promise<Record<string, unknown>> {
  const { tf, packageVersion, BACKEND_PACKAGE } = await import('../../backends/tfjs/runtime.ts');
  const env = (flag: string): boolean | null => {
    try {
      return tf.env().getBool(flag);
    } catch {
      return null;
    }
  };
  return {
    '@tensorflow/tfjs': packageVersion('@tensorflow/tfjs') ?? null,
    '@tensorflow/tfjs-core': tf.version_core,
    [BACKEND_PACKAGE[name]]: packageVersion(BACKEND_PACKAGE[name]) ?? null,
    ...(name === 'wasm' ? { wasmSimd: env('WASM_HAS_SIMD_SUPPORT'), wasmThreads: env('WASM_HAS_MULTITHREAD_SUPPORT') } : {}),
    emulation:
      precision === '16'
        ? 'binary16 wide: float32 inside each op, every op output and backward gradient rounded to binary16 (src/backends/tfjs/f16.ts)'
        : 'float32',
  };
}

function unsupported(id: TfjsId, precision: TrainPrecision, mode: string | undefined): string | null {
  if (precision === 'bf16')
    return `\`backend\` ${id} cannot train in bfloat16 (the tfjs model twins emulate binary16 only); the engine can (\`backend\` engine, the default at \`precision\` bf16), and torch (\`backend\` torch)`;
  if (precision === '64')
    return `\`backend\` ${id} cannot train at 64 bits (tfjs has float32 tensors only); the engine can: use \`backend\` engine (the default at \`precision\` 64)`;
  if (precision === '16' && mode === 'strict')
    return (
      `\`backend\` ${id} cannot train 16-bit strict (every product and sum rounded to binary16): tfjs emulates 16 bits in wide mode only (float32 inside each op, binary16 op outputs). ` +
      'Use `backend` engine for `mode` strict, or `mode` wide for tfjs'
    );
  if (precision === '16' && mode === 'framework')
    return "`mode` framework is tfjs's float32 at 32 bits; at 16 bits tfjs emulates `mode` wide (or use `backend` engine for strict)";
  if (precision === '32' && (mode === 'strict' || mode === 'wide'))
    return `\`backend\` ${id} at 32 bits computes in tfjs's own float32 arithmetic, neither \`mode\` ${mode} of the engine; use \`backend\` engine for \`mode\` ${mode} at 32 bits, or drop \`mode\``;
  return null;
}

export function tfjsTrainBackend(id: TfjsId): TrainBackend {
  return {
    id,
    unsupported: (precision, mode) => unsupported(id, precision, mode),
    defaultMode: (precision) => (precision === '32' ? 'framework' : 'wide'),
    create: tfjsTrainer,
  };
}
