/**
 * The report's verdict, in plain sentences and a table (the HTML page and the Markdown summary
 * render the same model, each escaping for itself): which backend is wrong and where, whether
 * adzone's self-checks hold, how often AD is wrong per precision, what the networks and training
 * runs show, and the gate's verdict when a baseline was given.
 */
import { basename } from 'node:path';
import { ofKind, type Discovered, shown } from '../schema/discover.ts';
import type { ReadResult, VerifyJson } from '../schema/index.ts';
import { accuracyByBeta, modelLabel, type RunRow, trainRuns } from '../schema/runs.ts';
import type { GateResult } from '../gate/index.ts';
import { countIn, type FailOnClass, type Finding, findingsOf } from './findings.ts';
import { pctOf, shareWithCI, wilson } from './stats.ts';

/**
 * The gate as the report saw it: not asked for, could not run, or its result; 'elsewhere' when the
 * caller tells the gate's verdict itself (the nightly's own section), so the report says nothing of it.
 */
export type GateState =
  | { readonly state: 'not-run' }
  | { readonly state: 'elsewhere' }
  | { readonly state: 'unusable'; readonly baseline: string; readonly message: string }
  | { readonly state: 'done'; readonly result: GateResult };

export interface VerifyVerdict {
  readonly file: string;
  readonly findings: readonly Finding[];
  readonly inconsistent: number;
  /** Rows with compensation at 64 bits on a lone-MaxPool generator (impossible: their input is exact there). */
  readonly lone64: readonly VerifyJson['table'][number][];
}

export interface Verdict {
  /** The paragraph, one sentence an entry. */
  readonly sentences: readonly string[];
  readonly verify: readonly VerifyVerdict[];
  readonly gate: GateState;
  /** Whether anything fails: a --fail-on finding, a self-check, or a gate regression. */
  readonly failing: boolean;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function defectSentences(v: VerifyJson, findings: readonly Finding[]): string[] {
  const defects = findings.filter((f) => f.cls === 'defect');
  if (!defects.length) return ['No defects: every framework gradient is the exact AD of an admissible Jacobian along its own routing.'];
  return defects.map((f) => {
    const top = f.generators[0];
    return `${f.backend} at ${f.precision} bits returns MaxPool gradients that no admissible Jacobian explains (defects) in ${f.share.k} of ${f.share.n} draws: ${shareWithCI(f.share)}, on ${plural(f.generators.length, 'generator')} of ${new Set(v.table.map((r) => r.generator)).size} (most in ${top.id}: ${top.count} of ${top.n}).`;
  });
}

function selfCheckSentence(vv: VerifyVerdict): string {
  const bad: string[] = [];
  if (vv.inconsistent) bad.push(`${plural(vv.inconsistent, 'inconsistent value check')} (regular draws outside their rounding bound)`);
  if (vv.lone64.length)
    bad.push(
      `64-bit compensation on a lone MaxPool in ${vv.lone64.map((r) => `${r.generator} on ${r.backend}`).join(', ')} (impossible: the input is exact there)`,
    );
  return bad.length
    ? `Self-checks FAIL: ${bad.join('; ')}: a bug in adzone's classifier or engine, not a finding.`
    : 'Self-checks hold: no inconsistent value check, no 64-bit compensation on a lone MaxPool.';
}

function zoneSentence(v: VerifyJson): string {
  const precisions = [...new Set(v.table.map((r) => r.precision))];
  const part = (cls: FailOnClass) =>
    precisions
      .map((p) => {
        const rows = v.table.filter((r) => r.precision === p);
        const s = wilson(
          rows.reduce((a, r) => a + countIn(r, cls), 0),
          rows.reduce((a, r) => a + r.n, 0),
        );
        return `${pctOf(s.p)} at ${p} bits`;
      })
      .join(', ');
  return `Of all draws (every generator and backend), compensation (right over the reals, wrong in the precision) is ${part('compensation')}; bifurcation (a real tie where the Jacobian choice matters) ${part('bifurcation')}.`;
}

function zonesNetworkSentence(z: ReadResult<'zones'>): string {
  const c = z.data.config;
  const parts = z.data.precisions.map((p) => {
    const s = p.summary;
    if (s.exactInZone === null) return `estimator ${s.estimatorInZone} of ${s.batches} at ${p.precision} bits (no exact classification)`;
    return `${s.exactInZone} of ${s.batches} at ${p.precision} bits (${shareWithCI(wilson(s.exactInZone, s.batches))})`;
  });
  const missed = z.data.precisions.reduce((a, p) => a + (p.summary.comparison?.missed ?? 0), 0);
  const invented = z.data.precisions.reduce((a, p) => a + (p.summary.comparison?.invented ?? 0), 0);
  return `${c.model} (${c.variant}) on ${c.dataset}, ${c.batches} batches of ${c.batchSize}: mini-batches in a zone, exactly, ${parts.join(', ')}; the threshold estimator misses ${missed} and invents ${invented}.`;
}

/** The largest drops of mean test accuracy from β = 0 to another β, per configuration (and recipe). */
function trainSentence(runs: readonly RunRow[]): string {
  const acc = accuracyByBeta(runs);
  const drops = [...new Set(acc.map((a) => a.group))].flatMap((g) => {
    const at0 = acc.find((a) => a.group === g && a.beta === 0);
    const worst = acc.filter((a) => a.group === g && a.beta !== 0).sort((a, b) => a.mean - b.mean)[0];
    return at0 && worst ? [{ at0, worst, drop: at0.mean - worst.mean }] : [];
  });
  const head = `Training: ${plural(runs.length, 'run')} in ${plural(new Set(acc.map((a) => a.group)).size, 'configuration')}`;
  const big = drops.filter((x) => x.drop > 0.01).sort((a, b) => b.drop - a.drop);
  if (!drops.length) return `${head}; test accuracy against β is drawn below.`;
  if (!big.length) return `${head}; no configuration loses more than 1 point of test accuracy from β = 0 to any other β.`;
  const pc2 = (x: number) => `${(100 * x).toFixed(2)}%`;
  const told = big
    .slice(0, 3)
    .map(
      (x) =>
        `${modelLabel(x.at0.config)} on ${x.at0.config.dataset}, ${x.at0.label}: ${pc2(x.at0.mean)} at β = 0, ${pc2(x.worst.mean)} at β = ${x.worst.beta} (${plural(x.worst.seeds, 'seed')}, ${pc2(x.worst.min)}–${pc2(x.worst.max)})`,
    );
  return `${head}; the largest drops of test accuracy from β = 0: ${told.join('; ')}${big.length > 3 ? `; and ${big.length - 3} more` : ''}.`;
}

function gateSentence(g: Exclude<GateState, { state: 'elsewhere' }>): string {
  if (g.state === 'not-run') return 'Gate: not run (give --baseline DIR to compare with a committed baseline).';
  if (g.state === 'unusable') return `Gate against ${g.baseline}: could not run: ${g.message}`;
  const r = g.result;
  // a path outside the working tree means nothing to a reader elsewhere: its folder name then
  const where = shown(r.baseline);
  const against = `Gate against ${where.startsWith('/') ? basename(where) : where}`;
  if (r.verdict === 'regression') return `${against}: ${plural(r.regressions.length, 'regression')}, first: ${r.regressions[0].line}`;
  if (r.verdict === 'partial')
    return `${against}: partial pass: every threshold holds for what ran; not compared: ${r.skipped.map((s) => `${s.stage} (${s.reason})`).join(', ')}.`;
  return `${against}: pass, every threshold holds.`;
}

export function verdictOf(
  d: Discovered,
  o: { lone: ReadonlyMap<string, readonly string[]>; failOn: readonly FailOnClass[]; gate: GateState },
): Verdict {
  const sentences: string[] = [];
  const verify: VerifyVerdict[] = [];
  for (const res of ofKind(d, 'verify')) {
    const v = res.data;
    const lone = o.lone.get(res.file) ?? [];
    const findings = findingsOf(v, o.failOn);
    const vv: VerifyVerdict = {
      file: res.file,
      findings,
      inconsistent: v.table.reduce((a, r) => a + r.inconsistent, 0),
      lone64: v.table.filter((r) => r.precision === '64' && lone.includes(r.generator) && countIn(r, 'compensation') > 0),
    };
    verify.push(vv);
    sentences.push(...defectSentences(v, findings), selfCheckSentence(vv), zoneSentence(v));
  }
  for (const z of ofKind(d, 'zones')) sentences.push(zonesNetworkSentence(z));
  const runs = trainRuns(d.results);
  if (runs.length) sentences.push(trainSentence(runs));
  for (const b of ofKind(d, 'bench')) {
    const fails = b.data.targets.flatMap((t) => t.results.filter((r) => r.verdict && r.verdict !== 'PASS'));
    sentences.push(`Speed: ${plural(b.data.targets.length, 'target')}${fails.length ? `, ${fails.length} not met` : ', all met'}.`);
  }
  if (o.gate.state !== 'elsewhere') sentences.push(gateSentence(o.gate));
  const failing =
    verify.some((vv) => vv.inconsistent > 0 || vv.lone64.length > 0 || vv.findings.some((f) => f.failing)) ||
    (o.gate.state === 'done' && o.gate.result.verdict === 'regression');
  return { sentences, verify, gate: o.gate, failing };
}
