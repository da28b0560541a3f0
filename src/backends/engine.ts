/** The adzone engine as an AD backend: reverse mode in any format of src/precision, any Jacobian. */
import pkg from '../../package.json' with { type: 'json' };
import { runChain } from '../engine/index.ts';
import { formatByName } from '../precision/index.ts';
import type { AdBackend } from './types.ts';

export const engineBackend: AdBackend = {
  id: 'engine',
  description: `adzone engine ${pkg.version}: tape-based reverse mode, every op rounded to the chosen format (strict or wide accumulation), Jacobian chosen per run`,
  precisions: ['16', '32', '64', 'bf16', 'e4m3', 'e5m2'],
  fixedJacobian: false,
  forwardValues: true,
  versions: { adzone: pkg.version },
  async run(problem, opts) {
    const r = runChain(problem, {
      format: formatByName(opts.precision),
      accumulate: opts.accumulate,
      jacobian: opts.jacobian,
      checkUnderflow: opts.checkUnderflow === true,
    });
    return {
      output: r.output,
      grads: r.grads,
      routing: r.routing,
      activations: r.activations,
      ...(r.underflow !== undefined ? { underflow: r.underflow } : {}),
    };
  },
};
