/**
 * runChain: one evaluation point (a Problem) through the engine in precision p.
 *
 * Rounds input, parameters and cotangent to p, runs the chain of layers forward on a Tape, then
 * backward from L = ⟨round_p(cotangent), output⟩, and returns the output, the activations, the
 * routing decisions of every maxpool and relu, and the gradients of L w.r.t. every parameter and
 * the input (all values of p).
 */
import { type Gradients, type LayerRouting, type Problem, validateProblem } from '../problem/index.ts';
import { conv2d, maxpool2d, relu } from './ops/index.ts';
import { type Decision, Tape, type TieSets } from './tape.ts';
import type { Tensor } from './tensor.ts';
import type { EngineOptions, EngineResult } from './types.ts';

export function runChain(problem: Problem, opts: EngineOptions): EngineResult {
  validateProblem(problem);
  const tape = new Tape(opts);
  try {
    return runOn(tape, problem, opts);
  } finally {
    tape.release(); // every result below is a copy in doubles
  }
}

function runOn(tape: Tape, problem: Problem, opts: EngineOptions): EngineResult {
  const input = tape.tensor(problem.input.data, problem.input.shape, true, 'input');
  const params: ({ weight: Tensor; bias: Tensor | null } | null)[] = [];
  const routing: LayerRouting[] = [];
  const activations: number[][] = [input.values()];

  let h = input;
  problem.layers.forEach((layer, i) => {
    switch (layer.kind) {
      case 'conv2d': {
        const p = problem.params[i]!;
        const weight = tape.tensor(p.weight, [layer.outChannels, h.shape[1], layer.kernel[0], layer.kernel[1]], true, `weight${i}`);
        const bias = p.bias ? tape.tensor(p.bias, [layer.outChannels], true, `bias${i}`) : null;
        params.push({ weight, bias });
        h = conv2d(h, weight, bias, layer);
        break;
      }
      case 'relu': {
        params.push(null);
        h = relu(h);
        const d = lastDecision(tape, 'relu');
        routing.push({ kind: 'relu', layer: i, sign: Array.from(d.sign) as (-1 | 0 | 1)[] });
        break;
      }
      case 'maxpool': {
        params.push(null);
        h = maxpool2d(h, layer);
        routing.push({ kind: 'maxpool', layer: i, ties: tieLists(lastDecision(tape, 'maxpool').ties) });
        break;
      }
    }
    activations.push(h.values());
  });

  tape.backward(h, problem.cotangent);
  const grads: Gradients<number> = {
    params: params.map((p) =>
      p === null ? null : p.bias ? { weight: p.weight.gradValues(), bias: p.bias.gradValues() } : { weight: p.weight.gradValues() },
    ),
    input: input.gradValues(),
  };
  return { output: h.values(), grads, routing, activations, ...(opts.checkUnderflow ? { underflow: tape.arith.flags.underflow } : {}) };
}

function lastDecision<K extends Decision['kind']>(tape: Tape, kind: K): Extract<Decision, { kind: K }> {
  const d = tape.decisions[tape.decisions.length - 1];
  if (!d || d.kind !== kind) throw new Error(`internal: expected a ${kind} routing decision on the tape`);
  return d as Extract<Decision, { kind: K }>;
}

/** Flat tie sets as one ascending index list per output. */
export function tieLists({ offsets, indices }: TieSets): number[][] {
  const out: number[][] = [];
  for (let o = 0; o + 1 < offsets.length; o++) out.push(Array.from(indices.subarray(offsets[o], offsets[o + 1])));
  return out;
}
