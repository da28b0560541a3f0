/**
 * Batch mode of the AD protocol, the Node side: the problems a verify run would send to a bridge,
 * as a problems file (JSON Lines: a client hello, then one run request per problem and dtype), so
 * that the bridge can compute them on another machine (a GPU box with PyTorch and no Node). The
 * results file it writes is read back by the 'torch' backend's `results` option
 * (src/backends/protocol/backend.ts, recordedBackend), and the verify run classifies as usual.
 *
 * The file holds exactly what that run asks: every window of the tie-rule measurement (at float64
 * and float32: the measurement runs at the first of them the device has), then, per generator,
 * the same draws runVerify makes (same seed and path) at every requested precision, finite points
 * only (non-finite ones are never sent). Requests are keyed by their content (requestKey), so a
 * results file answers a run whenever that run asks for nothing the batch lacks.
 */
import fc from 'fast-check';
import { type Dtype, PRECISION_DTYPE } from '../backends/protocol/floats.ts';
import { PROTOCOL_VERSION, type RunRequest } from '../backends/protocol/schema.ts';
import { problemToWire, requestKey } from '../backends/protocol/wire.ts';
import { tieRuleProblems } from '../backends/tie_rule.ts';
import type { Generator } from '../generators/types.ts';
import { isFiniteProblem, type Problem } from '../problem/index.ts';
import { ConfigError } from '../util/errors.ts';
import { generatorSeed } from './verify.ts';

export interface BatchExportConfig {
  readonly samples: number;
  readonly seed: number;
  readonly generators: readonly Generator[];
  /** adzone precision names; each needs a protocol dtype (16, bf16, 32, 64). */
  readonly precisions: readonly string[];
  /** adzone's version, recorded in the file's hello. */
  readonly clientVersion: string;
}

export interface BatchExport {
  /** The problems file, one JSON message per line (ends with a newline). */
  readonly text: string;
  /** Run requests in it: for the tie-rule measurement, and for the verify draws. */
  readonly tieRuleRequests: number;
  readonly verifyRequests: number;
}

/** The problems file of a verify run over the 'torch' backend (or any protocol bridge). */
export function exportBatch(c: BatchExportConfig): BatchExport {
  const dtypes = c.precisions.map((p) => {
    const d = PRECISION_DTYPE[p];
    if (!d)
      throw new ConfigError('precisions', `precision '${p}' cannot go to a bridge: expected ${Object.keys(PRECISION_DTYPE).join(', ')}`);
    return d;
  });
  const lines = [JSON.stringify({ type: 'hello', protocols: [PROTOCOL_VERSION], client: { name: 'adzone', version: c.clientVersion } })];
  const seen = new Set<string>();
  const add = (problem: Problem, dtype: Dtype): number => {
    const wire = problemToWire(problem, dtype);
    const id = requestKey(dtype, wire);
    if (seen.has(id)) return 0;
    seen.add(id);
    const req: RunRequest = { type: 'run', id, dtype, problem: wire };
    lines.push(JSON.stringify(req));
    return 1;
  };
  let tieRuleRequests = 0;
  for (const p of tieRuleProblems()) for (const d of ['float64', 'float32'] as const) tieRuleRequests += add(p, d);
  let verifyRequests = 0;
  for (const gen of c.generators) {
    const cases = fc.sample(gen.arbitrary, { seed: generatorSeed(c.seed, gen.id), numRuns: c.samples });
    for (const cs of cases) {
      if (!isFiniteProblem(cs.problem)) continue;
      for (const d of dtypes) verifyRequests += add(cs.problem, d);
    }
  }
  return { text: `${lines.join('\n')}\n`, tieRuleRequests, verifyRequests };
}
