/**
 * What a report says first: the findings of a verify.json, per (backend, precision, zone or
 * outcome), summed over generators, each a count of draws with its Wilson 95% interval, the
 * generators where it happens and one `adzone replay` line (a minimal counterexample of that
 * class, when the run shrank one). Defects (a framework's gradient no admissible Jacobian
 * explains) and inconsistent value checks (adzone's own classifier against its rounding bound)
 * come first, then compensation (wrong over the floats), bifurcation (wrong over the reals for
 * some Jacobian choice) and nonfinite draws.
 *
 * `--fail-on LIST` (report, JUnit) names classes from the same words: the zones that are not
 * regular and the outcomes outside the zones (src/problem/vocabulary.ts).
 */
import { NON_REGULAR_ZONES, OUTSIDE_ZONES } from '../problem/index.ts';
import type { VerifyJson } from '../schema/index.ts';
import { type ShareCI, wilson } from './stats.ts';

/** The words `--fail-on` takes: bifurcation, compensation, nonfinite, defect, inconsistent. */
export const FAIL_ON_CLASSES = [...NON_REGULAR_ZONES, ...OUTSIDE_ZONES] as const;
export type FailOnClass = (typeof FAIL_ON_CLASSES)[number];

/** The order findings are told in: what is broken first. */
const SEVERITY: readonly FailOnClass[] = ['defect', 'inconsistent', 'compensation', 'bifurcation', 'nonfinite'];

type Row = VerifyJson['table'][number];

/** The draws of a row in a class of FAIL_ON_CLASSES (compensation: tie and flip together; inconsistent: the flagged regular draws). */
export function countIn(r: Row, cls: FailOnClass): number {
  const c = r.counts as Record<string, number | undefined>;
  if (cls === 'compensation') return (c['compensation:tie'] ?? 0) + (c['compensation:flip'] ?? 0);
  if (cls === 'inconsistent') return r.inconsistent;
  return c[cls] ?? 0;
}

export interface Finding {
  readonly backend: string;
  readonly precision: string;
  readonly cls: FailOnClass;
  /** Draws in the class over the draws of every generator on this backend and precision. */
  readonly share: ShareCI;
  /** Generators with draws in the class, most first. */
  readonly generators: readonly { readonly id: string; readonly count: number; readonly n: number }[];
  /** `adzone replay …` of a minimal counterexample of this class, when the run kept one. */
  readonly replay?: string;
  /** Named in --fail-on. */
  readonly failing: boolean;
}

export const replayLine = (c: VerifyJson['counterexamples'][number]) =>
  `adzone replay --generator ${c.generator} --seed ${c.seed} --path ${c.path} --precision ${c.precision} --backend ${c.backend}`;

function replayOf(v: VerifyJson, backend: string, precision: string, cls: FailOnClass): string | undefined {
  const matches = (k: string) => (cls === 'compensation' ? k.startsWith('compensation') : k === cls);
  const cx = v.counterexamples
    .filter((c) => c.backend === backend && c.precision === precision && matches(c.class))
    .sort((a, b) => a.path.length - b.path.length)[0];
  return cx ? replayLine(cx) : undefined;
}

/** Every (backend, precision, class) with at least one draw, most severe first, then by share. */
export function findingsOf(v: VerifyJson, failOn: readonly FailOnClass[] = []): Finding[] {
  const cols = new Map<string, Row[]>();
  for (const r of v.table) cols.set(`${r.backend}|${r.precision}`, [...(cols.get(`${r.backend}|${r.precision}`) ?? []), r]);
  const out: Finding[] = [];
  for (const rows of cols.values()) {
    const n = rows.reduce((a, r) => a + r.n, 0);
    for (const cls of SEVERITY) {
      const k = rows.reduce((a, r) => a + countIn(r, cls), 0);
      if (!k) continue;
      const { backend, precision } = rows[0];
      const generators = rows
        .filter((r) => countIn(r, cls) > 0)
        .map((r) => ({ id: r.generator, count: countIn(r, cls), n: r.n }))
        .sort((a, b) => b.count - a.count);
      const replay = replayOf(v, backend, precision, cls);
      out.push({ backend, precision, cls, share: wilson(k, n), generators, ...(replay ? { replay } : {}), failing: failOn.includes(cls) });
    }
  }
  return out.sort((a, b) => SEVERITY.indexOf(a.cls) - SEVERITY.indexOf(b.cls) || b.share.p - a.share.p);
}

/**
 * The few findings a verdict table shows: every defect and inconsistent one and every one named in
 * --fail-on, then the largest of each other class (at most `perClass`), at most `max` in all, in
 * severity order; the rest are counted by the caller.
 */
export function headlineFindings(fs: readonly Finding[], max = 6, perClass = 2): Finding[] {
  const must = fs.filter((f) => f.failing || f.cls === 'defect' || f.cls === 'inconsistent');
  const taken = new Map<FailOnClass, number>();
  const rest = fs.filter((f) => {
    if (must.includes(f)) return false;
    const n = taken.get(f.cls) ?? 0;
    taken.set(f.cls, n + 1);
    return n < perClass;
  });
  const keep = new Set([...must, ...rest].slice(0, Math.max(max, must.length)));
  return fs.filter((f) => keep.has(f));
}

export const CLASS_WORDS: Readonly<Record<FailOnClass, string>> = {
  defect: 'defect (no admissible Jacobian explains the framework gradient)',
  inconsistent: 'inconsistent value check (a regular draw outside its rounding bound)',
  compensation: 'compensation (right over the reals, wrong in this precision)',
  bifurcation: 'bifurcation (a real tie where the Jacobian choice changes the gradient)',
  nonfinite: 'nonfinite (NaN or ±Inf: no zone defined)',
};
