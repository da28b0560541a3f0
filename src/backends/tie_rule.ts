/**
 * Measure which MaxPool Jacobian an AD backend applies at exact ties (docs/DESIGN.md §2), window by window.
 *
 * Lone MaxPools are run with a one-hot cotangent per output window, so the input gradient is that
 * window's Jacobian row, and the row is compared with what each rule gives the window's tie set
 * (computed here in double, independently of any backend). A row that does not even stay inside
 * the tie set with total weight 1 is *misrouted*: a defect, reported apart from the tie rule, with
 * the range of maxima of the windows it hit (tfjs-backend-wasm 4.22 drops the gradient of every
 * window whose maximum is below 2^-126: its MaxPoolGrad starts its running max at FLT_MIN).
 *
 * The cases (deterministic, so reports can be reproduced): kernels 2..4, square and rectangular,
 * strides 1 (overlapping windows) up to the kernel, padding 0..⌊k/2⌋, 1–2 images and channels;
 * tie cases draw inputs from {−2,…,2} (ties everywhere, windows of both signs, padded borders),
 * distinct-value cases check the argmax away from ties, one case sits at the float32 normal
 * threshold 2^-126.
 *
 * Windows holding NaN are measured apart (`nan`): where the gradient of a window whose maximum is
 * NaN goes (its first NaN, its last NaN, elsewhere). PyTorch 1.13's CPU kernel, for one, sends it
 * to the last NaN ([NaN, NaN, 0, 0] → index 1, [0, NaN, NaN, NaN] → index 3), the engine to the
 * first: frameworks differ there, so it is measured, never assumed.
 */

import { choice, FIRST } from '../jacobians/index.ts';
import type { Problem } from '../problem/index.ts';
import { layerOutputShape, type MaxPoolSpec, type Shape } from '../problem/index.ts';
import { mulberry32 as rng } from '../util/rng.ts';
import type { AdBackend } from './types.ts';

export type TieRule = 'first' | 'last' | 'minnorm' | 'other';
export type KnownRule = Exclude<TieRule, 'other'>;
const RULES: readonly KnownRule[] = ['first', 'last', 'minnorm'];

export interface TieRuleCase {
  readonly label: string;
  readonly problem: Problem;
}

export interface WindowObservation {
  readonly case: string;
  /** Flat NCHW index of the output element (the window). */
  readonly output: number;
  /** The window's maximum and its tie set (flat NCHW input indices, ascending). */
  readonly max: number;
  readonly ties: readonly number[];
  /** The backend's Jacobian row: the non-zero entries of the input gradient for cotangent e_output. */
  readonly row: readonly (readonly [index: number, weight: number])[];
}

export interface TieRuleReport {
  readonly backend: string;
  /** The rule every correctly routed tied window follows; 'other' when none does. */
  readonly rule: TieRule;
  readonly cases: number;
  readonly windows: number;
  readonly tiedWindows: number;
  /** Among correctly routed tied windows: how many each rule reproduces. */
  readonly matches: Readonly<Record<KnownRule, number>>;
  /** Windows (tied or not) whose gradient left the tie set or did not sum to 1. */
  readonly misrouted: {
    readonly windows: number;
    readonly tied: number;
    /** [min, max] of the maxima of misrouted windows, and of correctly routed ones. */
    readonly maxRange?: readonly [number, number];
    readonly routedMaxRange?: readonly [number, number];
    readonly examples: readonly WindowObservation[];
  };
  /** Where the gradient of windows holding NaN goes. */
  readonly nan: NanRuleReport;
  /** The evidence in one line. */
  readonly evidence: string;
  /** `${backend}: MaxPool ties → ${rule}; ${evidence}`. */
  readonly summary: string;
}

function makeCase(label: string, layer: MaxPoolSpec, shape: Shape, data: number[]): TieRuleCase {
  const o = layerOutputShape(layer, shape);
  const cotangent = new Array<number>(o[0] * o[1] * o[2] * o[3]).fill(1);
  return {
    label: `${label} k${layer.kernel.join('×')} s${layer.stride.join('×')} p${layer.padding.join('×')} in ${shape.join('×')}`,
    problem: { input: { shape, data }, layers: [layer], params: [null], cotangent },
  };
}

/** The deterministic case set. */
export function tieRuleCases(seed = 20240607): TieRuleCase[] {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const out: TieRuleCase[] = [];
  const kernels: [number, number][] = [
    [2, 2],
    [3, 3],
    [4, 4],
    [2, 3],
    [3, 2],
    [4, 3],
    [2, 4],
  ];
  for (const [kh, kw] of kernels) {
    for (let rep = 0; rep < 4; rep++) {
      // rep 0: stride 1 (maximal overlap) with padding; rep 1: no padding; reps 2–3: random.
      const stride: [number, number] = rep === 0 ? [1, 1] : [int(1, kh), int(1, kw)];
      const padding: [number, number] = rep === 1 ? [0, 0] : [int(0, kh >> 1), int(0, kw >> 1)];
      const shape: Shape = [int(1, 2), int(1, 2), kh + int(0, 4), kw + int(0, 4)];
      const size = shape[0] * shape[1] * shape[2] * shape[3];
      const layer: MaxPoolSpec = { kind: 'maxpool', kernel: [kh, kw], stride, padding };
      if (rep < 3) {
        out.push(
          makeCase(
            'ties',
            layer,
            shape,
            Array.from({ length: size }, () => int(-2, 2)),
          ),
        );
      } else {
        // Distinct values of both signs (a shuffled range): no ties anywhere.
        const vals = Array.from({ length: size }, (_, i) => (i - (size >> 1)) / 4);
        for (let i = size - 1; i > 0; i--) {
          const j = int(0, i);
          [vals[i], vals[j]] = [vals[j], vals[i]];
        }
        out.push(makeCase('distinct', layer, shape, vals));
      }
    }
  }
  // At the float32 normal threshold: ties and maxima at 2^-127 (subnormal), 2^-126 and 2^-125.
  const tiny = [2 ** -127, 2 ** -126, 2 ** -125];
  out.push(
    makeCase(
      'threshold',
      { kind: 'maxpool', kernel: [2, 2], stride: [1, 1], padding: [1, 1] },
      [1, 1, 4, 4],
      Array.from({ length: 16 }, () => tiny[int(0, 2)]),
    ),
  );
  return out;
}

export type NanRule = 'first' | 'last' | 'other';

/** Where a backend sends the gradient of a window whose maximum is NaN. */
export interface NanRuleReport {
  /** 'first' / 'last': every window holding NaN sends its whole gradient to its first / last NaN; else 'other'. */
  readonly rule: NanRule;
  /** Windows holding NaN, and those holding two NaNs or more (only they tell first from last). */
  readonly windows: number;
  readonly multiNaN: number;
  /** Windows whose gradient went whole to their first NaN, to their last NaN (a single NaN is both), elsewhere. */
  readonly first: number;
  readonly last: number;
  readonly elsewhere: number;
  readonly examples: readonly WindowObservation[];
  readonly evidence: string;
}

/**
 * Lone MaxPools with NaN among their inputs: the single 2×2 windows [NaN,NaN,0,0], [0,NaN,NaN,NaN],
 * [NaN,1,NaN,2] and [1,NaN,2,NaN], then deterministic random ones (kernels 2–3, overlapping and
 * padded windows) drawing from {NaN, −1, 0, 1}.
 */
export function nanRuleCases(seed = 20240608): TieRuleCase[] {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const single: MaxPoolSpec = { kind: 'maxpool', kernel: [2, 2], stride: [2, 2], padding: [0, 0] };
  const out = [
    [NaN, NaN, 0, 0],
    [0, NaN, NaN, NaN],
    [NaN, 1, NaN, 2],
    [1, NaN, 2, NaN],
  ].map((data) => makeCase('nan', single, [1, 1, 2, 2], data));
  const kernels: [number, number][] = [
    [2, 2],
    [3, 3],
    [2, 3],
  ];
  for (const [kh, kw] of kernels) {
    for (let rep = 0; rep < 2; rep++) {
      const stride: [number, number] = rep === 0 ? [1, 1] : [kh, kw];
      const padding: [number, number] = rep === 0 ? [kh >> 1, kw >> 1] : [0, 0];
      const shape: Shape = [1, int(1, 2), kh + int(1, 3), kw + int(1, 3)];
      const data = Array.from({ length: shape[1] * shape[2] * shape[3] }, () => (r() < 0.3 ? NaN : int(-1, 1)));
      out.push(makeCase('nan', { kind: 'maxpool', kernel: [kh, kw], stride, padding }, shape, data));
    }
  }
  return out;
}

/** The problem that reads one window's Jacobian row: the case's problem with cotangent e_output. */
export function oneHotProblem(problem: Problem, output: number): Problem {
  const cotangent = new Array<number>(problem.cotangent.length).fill(0);
  cotangent[output] = 1;
  return { ...problem, cotangent };
}

/** Every problem the measurement runs (one per window of every case): what a batch file must hold for it. */
export function tieRuleProblems(cases: readonly TieRuleCase[] = [...tieRuleCases(), ...nanRuleCases()]): Problem[] {
  return cases.flatMap((tc) => maxPoolWindows(tc.problem).map((w) => oneHotProblem(tc.problem, w.output)));
}

/** The precision the measurement runs at: float64 where the backend has it (no rounding of 1/k), else float32. */
export function tieRulePrecision(backend: Pick<AdBackend, 'precisions'>): string {
  return ['64', '32'].find((p) => backend.precisions.includes(p)) ?? backend.precisions[0];
}

type Row = readonly (readonly [number, number])[];

async function windowRow(backend: AdBackend, problem: Problem, output: number, precision: string): Promise<Row> {
  const res = await backend.run(oneHotProblem(problem, output), { precision, accumulate: 'strict', jacobian: choice(FIRST) });
  return res.grads.input.flatMap((v, i) => (v !== 0 ? [[i, v] as const] : []));
}

/** Where `backend` sends the gradient of windows whose maximum is NaN. */
export async function measureNanRuleOf(
  backend: AdBackend,
  precision = tieRulePrecision(backend),
  cases: readonly TieRuleCase[] = nanRuleCases(),
): Promise<NanRuleReport> {
  let windows = 0;
  let multiNaN = 0;
  let first = 0;
  let last = 0;
  const odd: WindowObservation[] = [];
  const shown: string[] = [];
  for (const tc of cases) {
    const x = tc.problem.input.data;
    for (const win of maxPoolWindows(tc.problem)) {
      const nans = win.cells.filter((k) => Number.isNaN(x[k]));
      if (!nans.length) continue;
      const row = await windowRow(backend, tc.problem, win.output, precision);
      windows++;
      if (nans.length > 1) multiNaN++;
      const to = row.length === 1 && row[0][1] === 1 ? row[0][0] : undefined;
      if (to === nans[0]) first++;
      if (to === nans[nans.length - 1]) last++;
      if (to === undefined || !nans.includes(to)) odd.push({ case: tc.label, output: win.output, max: NaN, ties: nans, row });
      if (shown.length < 2 && win.cells.length === 4 && nans.length > 1) {
        shown.push(
          `[${win.cells.map((k) => x[k]).join(', ')}] → ${to === undefined ? `[${row.map(([i, v]) => `${v}@${i}`).join(' ')}]` : `index ${win.cells.indexOf(to)}`}`,
        );
      }
    }
  }
  const rule: NanRule = odd.length === 0 && first === windows ? 'first' : odd.length === 0 && last === windows ? 'last' : 'other';
  const evidence =
    `${windows} windows holding NaN (${multiNaN} with two or more): gradient whole to the first NaN in ${first}, to the last NaN in ${last}, ` +
    `elsewhere or split in ${odd.length}${shown.length ? `; e.g. ${shown.join(', ')}` : ''}`;
  return { rule, windows, multiNaN, first, last, elsewhere: odd.length, examples: odd.slice(0, 3), evidence };
}

interface Window {
  readonly output: number;
  readonly cells: readonly number[];
  readonly max: number;
  readonly ties: readonly number[];
}

/** Every window of a lone MaxPool: its real (unpadded) cells, maximum and tie set, in double. */
export function maxPoolWindows(problem: Problem): Window[] {
  const layer = problem.layers[0];
  if (problem.layers.length !== 1 || layer.kind !== 'maxpool') throw new Error('maxPoolWindows: the problem must be a lone maxpool');
  const [n, c, h, w] = problem.input.shape;
  const [, , oh, ow] = layerOutputShape(layer, problem.input.shape as Shape);
  const x = problem.input.data;
  const out: Window[] = [];
  for (let s = 0; s < n * c; s++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const cells: number[] = [];
        for (let a = 0; a < layer.kernel[0]; a++) {
          const y = i * layer.stride[0] - layer.padding[0] + a;
          for (let d = 0; d < layer.kernel[1]; d++) {
            const z = j * layer.stride[1] - layer.padding[1] + d;
            if (y >= 0 && y < h && z >= 0 && z < w) cells.push(s * h * w + y * w + z);
          }
        }
        cells.sort((p, q) => p - q);
        const max = Math.max(...cells.map((k) => x[k]));
        out.push({ output: (s * oh + i) * ow + j, cells, max, ties: cells.filter((k) => x[k] === max) });
      }
    }
  }
  return out;
}

/** A rule's Jacobian row for a tie set (ascending indices). */
export function ruleRow(rule: KnownRule, ties: readonly number[]): [number, number][] {
  if (rule === 'first') return [[ties[0], 1]];
  if (rule === 'last') return [[ties[ties.length - 1], 1]];
  return ties.map((t) => [t, 1 / ties.length]);
}

/** Rows are compared with slack 2^-20 per entry: float32 rounding of 1/k, far below the ≥ 1/4 by which rules differ. */
const SLACK = 2 ** -20;
function sameRow(a: readonly (readonly [number, number])[], b: readonly (readonly [number, number])[]): boolean {
  const m = new Map<number, number>();
  for (const [i, v] of a) m.set(i, (m.get(i) ?? 0) + v);
  for (const [i, v] of b) m.set(i, (m.get(i) ?? 0) - v);
  return [...m.values()].every((d) => Math.abs(d) <= SLACK);
}
function staysInTieSet(row: readonly (readonly [number, number])[], ties: readonly number[]): boolean {
  const total = row.reduce((s, [, v]) => s + v, 0);
  return row.every(([i]) => ties.includes(i)) && Math.abs(total - 1) <= SLACK * ties.length;
}

function fmt(x: number): string {
  const e = Math.log2(Math.abs(x));
  return x !== 0 && Number.isInteger(e) && Math.abs(e) > 10 ? `${x < 0 ? '-' : ''}2^${e}` : String(x);
}
function range(xs: number[]): [number, number] | undefined {
  return xs.length ? [Math.min(...xs), Math.max(...xs)] : undefined;
}

interface TieObservations {
  windows: number;
  tiedWindows: number;
  routedTied: number;
  readonly matches: Record<KnownRule, number>;
  readonly bad: WindowObservation[];
  readonly routedMax: number[];
}

/** Run every window of every case and sort the rows: misrouted, routed, and which rules reproduce the tied ones. */
async function observeTies(backend: AdBackend, cases: readonly TieRuleCase[], precision: string): Promise<TieObservations> {
  const o: TieObservations = {
    windows: 0,
    tiedWindows: 0,
    routedTied: 0,
    matches: { first: 0, last: 0, minnorm: 0 },
    bad: [],
    routedMax: [],
  };
  for (const tc of cases) {
    for (const win of maxPoolWindows(tc.problem)) {
      const row = await windowRow(backend, tc.problem, win.output, precision);
      o.windows++;
      const tied = win.ties.length > 1;
      if (tied) o.tiedWindows++;
      if (!staysInTieSet(row, win.ties)) {
        o.bad.push({ case: tc.label, output: win.output, max: win.max, ties: win.ties, row });
        continue;
      }
      o.routedMax.push(win.max);
      if (!tied) continue;
      o.routedTied++;
      for (const r of RULES) if (sameRow(row, ruleRow(r, win.ties))) o.matches[r]++;
    }
  }
  return o;
}

/** The misrouting part of the evidence: how many windows, the range of their maxima, one example. */
function defectEvidence(o: TieObservations, badMax: readonly [number, number], tied: number): string {
  const ex = o.bad[0];
  const above = o.routedMax.filter((m) => m > badMax[1]);
  const luckyLow = o.routedMax.length - above.length;
  return (
    `; DEFECT: ${o.bad.length} windows (${tied} tied) misrouted (gradient dropped or sent outside the tie set), ` +
    `their maxima in [${fmt(badMax[0])}, ${fmt(badMax[1])}]` +
    (above.length ? `; every window with a larger maximum (smallest here ${fmt(Math.min(...above))}) routed correctly` : '') +
    (luckyLow ? `, as did ${luckyLow} windows with maxima in that range` : '') +
    `; e.g. ${ex.case}, output ${ex.output}, max ${fmt(ex.max)}, ties [${ex.ties.join(',')}], gradient ${ex.row.length ? ex.row.map(([i, v]) => `${v}@${i}`).join(' ') : 'none'}`
  );
}

/**
 * Which rule `backend` applies at ties, with the evidence, and where it sends the gradient of
 * windows holding NaN (`nanCases`). An engine is run with Jacobian `first`.
 */
export async function measureTieRuleOf(
  backend: AdBackend,
  cases: readonly TieRuleCase[] = tieRuleCases(),
  nanCases: readonly TieRuleCase[] = nanRuleCases(),
): Promise<TieRuleReport> {
  const precision = tieRulePrecision(backend);
  const o = await observeTies(backend, cases, precision);
  const all = RULES.filter((r) => o.routedTied > 0 && o.matches[r] === o.routedTied);
  const rule: TieRule = all.length === 1 ? all[0] : 'other';
  const badMax = range(o.bad.map((b) => b.max));
  const okMax = range(o.routedMax);
  const misrouted = {
    windows: o.bad.length,
    tied: o.bad.filter((b) => b.ties.length > 1).length,
    ...(badMax ? { maxRange: badMax } : {}),
    ...(okMax ? { routedMaxRange: okMax } : {}),
    examples: o.bad.slice(0, 3),
  };
  const counts = RULES.map((r) => `${r} ${o.matches[r]}`).join(', ');
  let evidence =
    `${cases.length} lone-MaxPool cases (k 2–4, overlapping windows, padding) at ${precision} bits, ${o.tiedWindows}/${o.windows} windows tied; ` +
    `of ${o.routedTied} correctly routed tied windows, reproduced by ${counts}`;
  if (badMax) evidence += defectEvidence(o, badMax, misrouted.tied);
  const nan = await measureNanRuleOf(backend, precision, nanCases);
  evidence += `; NaN windows → ${nan.rule === 'other' ? 'no single rule' : `the ${nan.rule} NaN`}: ${nan.evidence}`;
  return {
    backend: backend.id,
    rule,
    cases: cases.length,
    windows: o.windows,
    tiedWindows: o.tiedWindows,
    matches: o.matches,
    misrouted,
    nan,
    evidence,
    summary: `${backend.id}: MaxPool ties → ${rule}; ${evidence}`,
  };
}
