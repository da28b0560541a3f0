/**
 * The text a failing check throws: what failed and why, the shrunk point with every value exact
 * and rounded (input), exact and computed (output, gradient), and the replay line (fast-check's
 * `{ seed, path }` convention, as the call the user made).
 */
import type { AdBackend, BackendResult } from '../backends/types.ts';
import { choice, parseJacobian } from '../jacobians/index.ts';
import type { ExactNumber, Oracle } from '../oracle/types.ts';
import { exactDecimal, formatByName, round } from '../precision/index.ts';
import { activationShapes, flattenParams, hasParams, type LayerSpec, type Problem } from '../problem/index.ts';
import type { AdmissibleConstraints, AdmissibleCounterexample, AdmissibleReport } from './check.ts';

/** Entries listed per vector; longer vectors are cut with a count of what is left out. */
const MAX_ROWS = 24;

type ReportHead = Omit<AdmissibleReport, 'message'>;

/** One line for a check that passed. */
export function passMessage(r: ReportHead): string {
  return (
    `${r.backend}: admissible on ${r.draws} draws of ${r.generators.length} generator(s) at ${r.precisions.join(', ')} bits ` +
    `(seed ${r.seed}; MaxPool ties → ${r.tieRule.rule})`
  );
}

function layerText(l: LayerSpec): string {
  if (l.kind === 'relu') return 'relu';
  const geo = `${l.kernel.join('×')} stride ${l.stride.join('×')} padding ${l.padding.join('×')}`;
  return l.kind === 'maxpool' ? `maxpool ${geo}` : `conv2d ${l.outChannels}@${geo}${l.bias ? ' +bias' : ''}`;
}

function rows(n: number, row: (i: number) => string): string[] {
  const out = Array.from({ length: Math.min(n, MAX_ROWS) }, (_, i) => `    ${row(i)}`);
  if (n > MAX_ROWS) out.push(`    … ${n - MAX_ROWS} more`);
  return out;
}

/** The replay line: the user's call with the one generator, the seed, the path and the failing precision. */
export function replayLine(entry: string, seed: number, cx: AdmissibleCounterexample, c: AdmissibleConstraints): string {
  const { onProgress: _p, numRuns: _n, generators: _g, seed: _s, path: _path, precisions, ...rest } = c;
  const fields: [string, unknown][] = [
    ['generators', [cx.generator]],
    ['seed', seed],
    ['path', cx.path],
    ['precisions', cx.kind === 'error' ? precisions : [cx.precision]],
    ...Object.entries(rest),
  ];
  const body = fields
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
    .join(', ');
  return `Replay: await ${entry}(backend, { ${body} })`;
}

function headline(r: ReportHead, cx: AdmissibleCounterexample): string[] {
  const where = `on generator ${cx.generator} at ${cx.precision} bits`;
  if (cx.kind === 'error') return [`adzone: ${r.backend} failed ${where}: ${cx.error}`];
  const cls = cx.classification;
  const why =
    cx.kind === 'defect'
      ? (cls?.reason ?? '')
      : (cls?.valueChecks ?? [])
          .filter((v) => !v.within)
          .map((v) => `${v.jacobian}: |error| ${v.maxError} at entry ${v.entry} exceeds its rounding bound ${v.bound}`)
          .join('; ');
  return [`adzone: ${r.backend} is not admissible: ${cx.kind} ${where}`, `  ${why}`];
}

/** Exact forward and the exact AD of the rule along the exact routing, or why they do not exist. */
function exactOf(problem: Problem, oracle: Oracle, rule: string) {
  try {
    const forward = oracle.forward(problem);
    const j = choice(['first', 'last', 'minnorm'].includes(rule) ? parseJacobian(rule) : parseJacobian('first'));
    return { forward, backward: oracle.backward(problem, forward.routing, j), rule: j.maxpool.kind };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function inputBlock(problem: Problem, precision: string): string[] {
  const f = precision.includes(',') ? undefined : formatByName(precision);
  const x = problem.input.data;
  const name = f ? `in binary${f.name}` : 'in p';
  return [`  input (exact | ${name}):`, ...rows(x.length, (i) => `[${i}] ${exactDecimal(x[i]!)} | ${f ? round(f, x[i]!) : '—'}`)];
}

function vectorBlock(title: string, exact: readonly ExactNumber[], got: readonly number[] | undefined, oracle: Oracle): string[] {
  return [
    `  ${title} (exact | got):`,
    ...rows(exact.length, (i) => {
      const g = got?.[i];
      const differs = g !== undefined && (!Number.isFinite(g) || !oracle.exact(g).equals(exact[i]!));
      return `[${i}] ${exact[i]!.toString()} | ${g ?? '—'}${differs ? '   ← differs' : ''}`;
    }),
  ];
}

async function rerun(
  backend: AdBackend,
  problem: Problem,
  precision: string,
  c: AdmissibleConstraints,
): Promise<BackendResult | undefined> {
  try {
    return await backend.run(problem, {
      precision,
      accumulate: c.accumulate ?? 'strict',
      jacobian: choice({ kind: 'first' }, c.reluAlphas?.[0] ?? 0),
    });
  } catch {
    return undefined;
  }
}

/** The shrunk point: its layers, input exact and rounded, output and classified gradient exact and as the backend computed them. */
async function pointBlock(r: ReportHead, cx: AdmissibleCounterexample, backend: AdBackend, c: AdmissibleConstraints, oracle: Oracle) {
  const p = cx.case.problem;
  const shapes = activationShapes(p);
  const out = [
    `Counterexample (shrunk ${cx.numShrinks} time(s); draw ${cx.runsBeforeFailure} of generator ${cx.generator} failed first):`,
    `  ${p.layers.map(layerText).join(' → ')}, input ${shapes[0]!.join('×')}, cotangent [${p.cotangent.join(', ')}]`,
    ...inputBlock(p, cx.precision),
  ];
  const exact = exactOf(p, oracle, r.tieRule.rule);
  if ('error' in exact) return [...out, `  (no exact values: ${exact.error})`];
  const got = cx.kind === 'error' ? undefined : await rerun(backend, p, cx.precision, c);
  const target = hasParams(p) ? 'parameter' : 'input';
  const exactGrad = target === 'parameter' ? flattenParams(exact.backward.grads) : exact.backward.grads.input;
  const gotGrad = got ? (target === 'parameter' ? flattenParams(got.grads) : got.grads.input) : undefined;
  return [
    ...out,
    ...vectorBlock('output', exact.forward.activations.at(-1) ?? [], got?.output, oracle),
    ...vectorBlock(`${target} gradient, exact AD of ${exact.rule} along the exact routing`, exactGrad, gotGrad, oracle),
  ];
}

/** The whole failure text. */
export async function failureMessage(
  r: ReportHead,
  cx: AdmissibleCounterexample,
  backend: AdBackend,
  entry: string,
  c: AdmissibleConstraints,
  oracle: Oracle,
): Promise<string> {
  return [
    ...headline(r, cx),
    `  MaxPool ties → ${r.tieRule.rule} (${r.tieRule.evidence})`,
    ...(await pointBlock(r, cx, backend, c, oracle)),
    replayLine(entry, r.seed, cx, c),
  ].join('\n');
}
