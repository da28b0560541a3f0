/** The engine as a training backend: any precision, strict or wide accumulation (src/backends/engine/network.ts). */
import { createEngineNet, evaluateBatch, gradients, trainStep } from '../../backends/engine/network.ts';
import { rounder } from '../../engine/arith.ts';
import type { EngineOptions } from '../../engine/types.ts';
import { formatByName } from '../../precision/index.ts';
import type { NetTrainer, TrainBackend, TrainerOptions } from '../backend.ts';
import { countCorrect } from './count.ts';

async function engineTrainer(o: TrainerOptions): Promise<NetTrainer> {
  const init = new Map<string, Float64Array>([...o.params, ...(o.buffers ?? new Map())]);
  const net = createEngineNet(o.spec, init);
  const format = formatByName(o.precision);
  const opts: EngineOptions = { format, accumulate: o.mode === 'wide' ? 'wide' : 'strict', jacobian: o.jacobian };
  const round = rounder(format);
  const classes = o.spec.classes;
  const { kernelStatus } = await import('../../engine/kernels/index.ts');
  return {
    backend: 'engine',
    params: net.params,
    buffers: () => net.buffers,
    async step(batch, optimizer, lossScale) {
      if (lossScale) {
        // trainStep seeds the backward with the scale; it does not hand back the logits.
        const r = trainStep(net, batch, opts, optimizer, { lossScale });
        return { loss: r.loss, correct: null, skipped: r.skipped };
      }
      // trainStep without loss scaling, spelled out so the logits come back for the train accuracy.
      for (const v of net.params.values()) for (let i = 0; i < v.length; i++) v[i] = round(v[i]);
      const r = gradients(net, batch, opts, { training: true });
      optimizer.step(net.params, r.grads, format);
      return { loss: r.loss, correct: countCorrect(r.logits, batch.labels, classes), skipped: false };
    },
    async evaluate(batch) {
      const r = evaluateBatch(net, batch, opts);
      return { loss: r.loss, correct: countCorrect(r.logits, batch.labels, classes) };
    },
    versions: { engine: `adzone engine (${o.precision} bits, ${opts.accumulate})`, engineKernels: kernelStatus() },
  };
}

export const engineTrainBackend: TrainBackend = {
  id: 'engine',
  unsupported: (_precision, mode) =>
    mode === 'framework'
      ? "`mode` framework is tfjs's own float32 arithmetic; the engine computes `mode` strict or wide (use `backend` tfjs-wasm for framework)"
      : null,
  defaultMode: () => 'strict',
  create: engineTrainer,
};
