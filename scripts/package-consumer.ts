// A strict TypeScript consumer of the packed adzone (scripts/check-package.sh type-checks it with
// strict, noUncheckedIndexedAccess, exactOptionalPropertyTypes, skipLibCheck false and no @types/node).
// It touches every entry point and the types a user writes against; it is type-checked, not run.
import {
  type AdBackend,
  type BackendResult,
  type Classification,
  type ClassifyConfig,
  classifyOne,
  classifyPoint,
  decimalOracle,
  engineBackend,
  F32,
  FIRST,
  type Format,
  formatByName,
  GENERATORS,
  LAST,
  loadBackends,
  MINNORM,
  type Problem,
  replayCase,
  round,
  runChain,
  runVerify,
  type VerifyOptions,
  type Zone,
} from 'adzone';
import { type Case, exactTie, generatorById, nearTie } from 'adzone/generators';
import { bigOracle, type ExactNumber, exactFromNumber, toRational } from 'adzone/oracle';
import {
  type AdmissibleConstraints,
  type AdmissibleReport,
  assertMaxPool,
  checkAdmissible,
  type MaxPoolGeometry,
  type MaxPoolKernel,
  maxPoolBackend,
} from 'adzone/testing';
import { createTorchBackend, exportBatch, PROTOCOL_VERSION, type TorchBackendOptions } from 'adzone/backends/torch';

const f: Format = formatByName('16');
const x: number = round(F32, 1 / 3) + round(f, 0.1);
const e: ExactNumber = exactFromNumber(x);
const r: { num: bigint; den: bigint } = toRational(e);

// A kernel author's MaxPool: forward and backward over typed arrays.
const kernel: MaxPoolKernel = {
  id: 'mine',
  precision: '32',
  forward: (input, g: MaxPoolGeometry) => new Float32Array(g.outputShape.reduce((a, b) => a * b, 1)).fill(input[0] ?? 0),
  backward: (input, dy) => new Float32Array(input.length).fill(dy[0] ?? 0),
};
const constraints: AdmissibleConstraints = { seed: 1, numRuns: 10, precisions: ['32'], jacobians: ['first', 'beta:10'], tieRule: 'last' };

// A backend written by hand against the contract.
const mine: AdBackend = {
  id: 'hand-written',
  description: 'a hand-written backend',
  precisions: ['64'],
  fixedJacobian: true,
  forwardValues: true,
  versions: {},
  async run(problem: Problem): Promise<BackendResult> {
    const out = runChain(problem, {
      format: formatByName('64'),
      accumulate: 'strict',
      jacobian: { maxpool: FIRST, reluAlpha: 0, betaMode: 'backward' },
    });
    return { output: out.output, grads: out.grads, activations: out.activations };
  },
};

export async function use(): Promise<readonly (Zone | string | number)[]> {
  const report: AdmissibleReport = await assertMaxPool(maxPoolBackend(kernel), constraints);
  const all = await checkAdmissible(mine, { generators: [GENERATORS[0]?.id ?? 'exact-tie'] });
  const c: Case = replayCase(generatorById('near-tie'), 1, '0');
  const config: ClassifyConfig = {
    precisions: ['32'],
    accumulate: 'strict',
    family: [FIRST, LAST, MINNORM],
    reluAlphas: [0],
    betaMode: 'backward',
    oracle: bigOracle,
    backends: [engineBackend],
  };
  const point = await classifyPoint(c.problem, config);
  const first: Classification | undefined = point.results[0];
  const one = await classifyOne({ ...config, tieRules: {} }, engineBackend, '32', c.problem);
  const loaded = await loadBackends(['engine', 'tfjs-wasm'], () => undefined);
  const verify: VerifyOptions = {
    ...config,
    samples: 1,
    seed: 1,
    generators: [generatorById('exact-tie')],
    tieRules: loaded.tieRules,
    oracle: decimalOracle,
  };
  const v = await runVerify(verify);
  // PyTorch through the bridge (unavailable with one line where torch is not installed), and a batch file for a GPU box.
  const torchOptions: TorchBackendOptions = { device: 'cpu', clientVersion: '0.1.0' };
  const torch = await createTorchBackend(torchOptions);
  const batch = exportBatch({ samples: 1, seed: 1, generators: [generatorById('exact-tie')], precisions: ['16'], clientVersion: '0.1.0' });
  const arbitraries = [exactTie(), nearTie()].length + batch.verifyRequests + PROTOCOL_VERSION + torch.id.length;
  return [first?.zone ?? 'none', one.zone, v.table.length, report.draws, all.draws, arbitraries, Number(r.den), e.toString()];
}
