/**
 * Is a framework's gradient at a tie the exact AD of an admissible Jacobian along its own routing?
 *
 * What admissible means here (docs/DESIGN.md §2–3): each MaxPool window's Jacobian row is supported
 * on the window's tie set — as the backend's own forward values route it — and its weights sum to 1.
 * That is the affine hull of the family's rows at the window (first, last, minnorm and every
 * beta(β), the high-norm β > 1 members with their negative weight included), the invariant §2 says
 * every member keeps (max(x + t·1) = max(x) + t), and the test src/backends/tie_rule.ts uses to call
 * a measured window misrouted. A framework may choose its row window by window; ReLU'(0) is the
 * run's α, as everywhere a framework is classified.
 *
 * The check, cheapest first:
 * 1. members: the exact AD along the own routing of the measured rule, then of first, last, minnorm
 *    and the run's family, each applied to every window, within the rigorous rounding bound;
 * 2. per-window rows: with the ties in one MaxPool layer the gradient is affine in the rows'
 *    weights, g(w) = g_first + Σ w_{window,i}·(V_{window,i} − g_first), V being the exact AD with that
 *    window routed whole to its entry i. The weights are fitted (least squares, rows scaled by
 *    their rounding magnitude), the fitted Jacobian's AD is computed exactly, and every entry must
 *    lie within the rounding bound of that Jacobian. Ties spread over several MaxPool layers make
 *    the gradient multilinear in the weights: there only step 1 is decided, and the reason says so.
 * A result that passes neither is a defect: no admissible Jacobian explains it.
 */
import { choice, type JacobianChoice, jacobianName, type MaxPoolJacobian } from '../jacobians/index.ts';
import { type ExactBackward, type ExactNumber, type Oracle, parseCanonical, type Rational, reduce } from '../oracle/index.ts';
import { nearestDouble } from '../oracle/index.ts';
import { type Format, unitRoundoff } from '../precision/index.ts';
import { flattenParams, type Gradients, type Problem, type Routing } from '../problem/index.ts';

type Target = 'params' | 'input';

/** γ_N·magnitude, N = depth + 2 (+2: the final rounding to p in wide mode and a double-rounded weight, see oracle/types.ts). */
export function roundingBound(depth: number, magnitude: number, format: Format): number {
  const nu = (depth + 2) * unitRoundoff(format);
  if (nu >= 1) return Infinity;
  return (nu / (1 - nu)) * magnitude;
}

export interface TieCheckInput {
  readonly oracle: Oracle;
  readonly problem: Problem;
  /** The backend's own routing (read off its forward values). */
  readonly routing: Routing;
  readonly target: Target;
  /** The backend's gradient of the target, in order. */
  readonly got: readonly number[];
  readonly format: Format;
  readonly reluAlpha: number;
  readonly betaMode: JacobianChoice['betaMode'];
  /** Members tried whole, in order (the measured rule first); duplicates are skipped. */
  readonly members: readonly MaxPoolJacobian[];
  /** The exact AD of a member along the own routing when already known (the exact routing's cache). */
  readonly known?: (j: JacobianChoice) => ExactBackward | undefined;
}

export interface TieCheck {
  readonly admissible: boolean;
  /** The member that explains the result ('first', …), 'per-window rows', or '' for none. */
  readonly via: string;
  /** For a defect: where it shows (entry, exact admissible value, got). */
  readonly reason?: string;
}

function targetOf<T>(g: Gradients<T>, target: Target): readonly T[] {
  return target === 'params' ? flattenParams(g) : g.input;
}

/** Every entry of `got` within the rounding bound of the exact AD `ref`. */
function withinBound(oracle: Oracle, ref: ExactBackward, got: readonly number[], target: Target, format: Format): boolean {
  const exact = targetOf(ref.grads, target);
  const mag = targetOf(ref.magnitude, target);
  const depth = targetOf(ref.depth, target);
  return exact.every((e, i) => oracle.exact(got[i]).sub(e).abs().toNumber() <= roundingBound(depth[i], mag[i].toNumber(), format));
}

/** Check the result against the admissible Jacobians along its own routing (see the file comment). */
export function checkAdmissibleAtTie(c: TieCheckInput): TieCheck {
  const along = (m: MaxPoolJacobian): ExactBackward => {
    const j = choice(m, c.reluAlpha, c.betaMode);
    return c.known?.(j) ?? c.oracle.backward(c.problem, c.routing, j);
  };
  const seen = new Set<string>();
  for (const m of c.members) {
    const name = jacobianName(m);
    if (seen.has(name)) continue;
    seen.add(name);
    if (withinBound(c.oracle, along(m), c.got, c.target, c.format)) return { admissible: true, via: name };
  }
  const windows = tiedWindows(c.routing);
  if (new Set(windows.map((w) => w.layer)).size > 1) {
    return {
      admissible: false,
      via: '',
      reason: `no member of ${[...seen].join(', ')} explains it along its own routing (per-window rows are tested with ties in one MaxPool layer; these span several)`,
    };
  }
  return perWindowFit(c, along({ kind: 'first' }), windows);
}

interface TiedWindow {
  readonly layer: number;
  readonly unit: number;
  readonly ties: readonly number[];
}

function tiedWindows(routing: Routing): TiedWindow[] {
  const out: TiedWindow[] = [];
  for (const r of routing) {
    if (r.kind !== 'maxpool') continue;
    r.ties.forEach((ties, unit) => {
      if (ties.length > 1) out.push({ layer: r.layer, unit, ties });
    });
  }
  return out;
}

/** The routing with one window's tie set replaced by the single entry `entry`. */
function routedTo(routing: Routing, w: TiedWindow, entry: number): Routing {
  return routing.map((r) => {
    if (r.layer !== w.layer || r.kind !== 'maxpool') return r;
    const ties = r.ties.slice();
    ties[w.unit] = [entry];
    return { ...r, ties };
  });
}

const rat = (x: ExactNumber): Rational => parseCanonical(x.toString());
const ratAdd = (a: Rational, b: Rational): Rational => ({ num: a.num * b.den + b.num * a.den, den: a.den * b.den });
const ratMul = (a: Rational, b: Rational): Rational => ({ num: a.num * b.num, den: a.den * b.den });

/** One column of the affine model: the window and entry it moves weight to, and V − g_first (exact and as doubles). */
interface Column {
  readonly window: number;
  readonly exact: readonly Rational[];
  readonly approx: readonly number[];
  readonly magnitude: readonly number[];
  readonly depth: readonly number[];
}

/**
 * Step 2 of the file comment: fit per-window weights, then check the fitted Jacobian's exact AD
 * entry by entry. Each entry's tolerance is the rounding bound γ_N·Σ|terms| of that Jacobian, with
 * Σ|terms| bounded by (largest row ℓ1 norm) × (Σ|terms| of g_first plus that of every vertex), N
 * by the deepest vertex + 2 (a fitted weight is rounded like a non-dyadic one), times √n: the fit
 * minimises the 2-norm of the n scaled residuals, which the true weights' residuals bound only so.
 */
function perWindowFit(c: TieCheckInput, first: ExactBackward, windows: readonly TiedWindow[]): TieCheck {
  const g0 = targetOf(first.grads, c.target).map(rat);
  const columns = windowColumns(c, windows, g0);
  const scale = targetOf(first.magnitude, c.target).map((m, e) => m.toNumber() + columns.reduce((s, col) => s + col.magnitude[e], 0));
  const depth = targetOf(first.depth, c.target).map((d, e) => Math.max(d, ...columns.map((col) => col.depth[e])) + 2);
  const scaled = (v: number, e: number) => (scale[e] > 0 ? v / scale[e] : v);
  const x = leastSquares(
    columns.map((col) => col.approx.map(scaled)),
    c.got.map((g, e) => scaled(g - nearestDouble(g0[e]), e)),
  );
  const slack = rowNorm(x, columns, windows.length) * Math.sqrt(g0.length);
  for (let e = 0; e < g0.length; e++) {
    const p = columns.reduce((acc, col, k) => (x[k] === 0 ? acc : ratAdd(acc, ratMul(rat(c.oracle.exact(x[k])), col.exact[e]))), g0[e]);
    const err = Math.abs(nearestDouble(reduce(ratAdd(rat(c.oracle.exact(c.got[e])), { num: -p.num, den: p.den }))));
    const b = roundingBound(depth[e], slack * scale[e], c.format);
    if (!(err <= b)) {
      const where = `${c.target}[${e}]: the closest admissible Jacobian (rows fitted window by window) gives ${nearestDouble(reduce(p))}, got ${c.got[e]} (tolerance ${b.toExponential(3)})`;
      return { admissible: false, via: '', reason: `no admissible Jacobian explains it along its own routing; ${where}` };
    }
  }
  return { admissible: true, via: 'per-window rows' };
}

/** The largest ℓ1 norm of a fitted row (its first tied entry keeps 1 − Σ of the others), at least 1. */
function rowNorm(x: readonly number[], columns: readonly Column[], windows: number): number {
  let norm = 1;
  for (let w = 0; w < windows; w++) {
    const ws = x.filter((_, k) => columns[k].window === w);
    norm = Math.max(norm, Math.abs(1 - ws.reduce((a, b) => a + b, 0)) + ws.reduce((a, b) => a + Math.abs(b), 0));
  }
  return norm;
}

/** V_{window,i} − g_first for every tied window and every tied entry but its first. */
function windowColumns(c: TieCheckInput, windows: readonly TiedWindow[], g0: readonly Rational[]): Column[] {
  const out: Column[] = [];
  const first = choice({ kind: 'first' }, c.reluAlpha, c.betaMode);
  windows.forEach((w, wi) => {
    for (const entry of w.ties.slice(1)) {
      const v = c.oracle.backward(c.problem, routedTo(c.routing, w, entry), first);
      const exact = targetOf(v.grads, c.target).map((x, e) => reduce(ratAdd(rat(x), { num: -g0[e].num, den: g0[e].den })));
      out.push({
        window: wi,
        exact,
        approx: exact.map(nearestDouble),
        magnitude: targetOf(v.magnitude, c.target).map((m) => m.toNumber()),
        depth: targetOf(v.depth, c.target),
      });
    }
  });
  return out;
}

/**
 * min ‖A·x − b‖₂ by modified Gram–Schmidt, columns given as arrays (A's columns). Columns that are
 * (numerically) dependent on earlier ones get weight 0: any weights that fit do, since the exact
 * check that follows decides.
 */
export function leastSquares(cols: readonly (readonly number[])[], b: readonly number[]): number[] {
  const m = cols.length;
  const q: number[][] = [];
  const r: number[][] = Array.from({ length: m }, () => new Array<number>(m).fill(0));
  const kept: boolean[] = [];
  const dot = (u: readonly number[], v: readonly number[]) => u.reduce((s, ui, i) => s + ui * v[i], 0);
  for (let k = 0; k < m; k++) {
    const v = cols[k].slice();
    const norm0 = Math.sqrt(dot(v, v));
    // Two passes of modified Gram–Schmidt ("twice is enough") keep q orthonormal to working precision.
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < k; j++) {
        if (!kept[j]) continue;
        const cj = dot(q[j], v);
        r[j][k] += cj;
        for (let i = 0; i < v.length; i++) v[i] -= cj * q[j][i];
      }
    }
    const norm = Math.sqrt(dot(v, v));
    kept.push(norm > 1e-12 * norm0 && norm > 0);
    r[k][k] = norm;
    q.push(kept[k] ? v.map((vi) => vi / norm) : v);
  }
  const y = q.map((qk, k) => (kept[k] ? dot(qk, b) : 0));
  const x = new Array<number>(m).fill(0);
  for (let k = m - 1; k >= 0; k--) {
    if (!kept[k]) continue;
    let s = y[k];
    for (let j = k + 1; j < m; j++) s -= r[k][j] * x[j];
    x[k] = s / r[k][k];
  }
  return x;
}
