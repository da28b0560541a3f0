/** Small formatting helpers shared by the HTML page, the Markdown summary and the JUnit file. */
import type { ZoneClass } from '../../problem/index.ts';
import type { VerifyJson } from '../../schema/index.ts';

type Row = VerifyJson['table'][number];

/** The non-regular zone classes (src/problem/vocabulary.ts) in the order the report shows them. */
export const CLASS_ORDER = [
  'bifurcation',
  'compensation:tie',
  'compensation:flip',
  'defect',
  'nonfinite',
] as const satisfies readonly ZoneClass[];

export const countOf = (r: Row, c: string): number => (r.counts as Record<string, number | undefined>)[c] ?? 0;
export const compensation = (r: Row): number => countOf(r, 'compensation:tie') + countOf(r, 'compensation:flip');

/** "B 1998, C 5 (2 flip), D 1, NF 3" or "all regular" (README's notation). */
export function compactCounts(r: Row): string {
  const parts: string[] = [];
  const b = countOf(r, 'bifurcation');
  const c = compensation(r);
  const flip = countOf(r, 'compensation:flip');
  if (b) parts.push(`B ${b}`);
  if (c) parts.push(`C ${c}${flip ? ` (${flip} flip)` : ''}`);
  if (countOf(r, 'defect')) parts.push(`D ${countOf(r, 'defect')}`);
  if (countOf(r, 'nonfinite')) parts.push(`NF ${countOf(r, 'nonfinite')}`);
  return parts.length ? parts.join(', ') : 'all regular';
}

/** Columns of the zone table: (backend, precision) pairs in the run's backend and precision order. */
export function columns(v: VerifyJson): { backend: string; precision: string; label: string }[] {
  const bi = (b: string) => {
    const i = v.backends.findIndex((x) => x.id === b);
    return i < 0 ? 99 : i;
  };
  const pi = (p: string) => {
    const i = v.precisions.indexOf(p);
    return i < 0 ? 99 : i;
  };
  const seen = new Map<string, { backend: string; precision: string; label: string }>();
  for (const r of v.table) {
    const k = `${r.backend}|${r.precision}`;
    if (!seen.has(k)) seen.set(k, { backend: r.backend, precision: r.precision, label: `${r.backend} ${r.precision}` });
  }
  return [...seen.values()].sort((a, b) => bi(a.backend) - bi(b.backend) || pi(a.precision) - pi(b.precision));
}

/** Generators in the run's order (then any others the table has). */
export function generatorsOf(v: VerifyJson): { id: string; description: string; nearTie: boolean }[] {
  const out = [...v.generators];
  for (const r of v.table) if (!out.some((g) => g.id === r.generator)) out.push({ id: r.generator, description: '', nearTie: false });
  return out.filter((g) => v.table.some((r) => r.generator === g.id));
}

export function rowOf(v: VerifyJson, generator: string, backend: string, precision: string): Row | undefined {
  return v.table.find((r) => r.generator === generator && r.backend === backend && r.precision === precision);
}

/** Shorten a long exact decimal (the JSON keeps every digit). */
export function shortDecimal(s: string, max = 34): string {
  if (s.length <= max) return s;
  // Many leading zeros (tiny values): show the significant digits with a power of ten.
  const m = /^(-?)0\.(0{6,})(\d+)$/.exec(s);
  if (m) {
    const digits = m[3];
    return `${m[1]}${digits[0]}.${digits.slice(1, 16)}…e-${m[2].length + 1} (${digits.length} digits)`;
  }
  // x.000000ddd…: a small offset from a short value, as "x + d.ddd…e-k".
  const n = /^(-?)(\d+(?:\.\d{0,8}?)?)(0{6,})(\d+)$/.exec(s);
  if (n?.[2].includes('.')) {
    const [int, frac] = n[2].split('.');
    const k = frac.length + n[3].length + 1;
    const head = frac ? `${int}.${frac}` : int;
    return `${n[1]}${head} ${n[1] ? '−' : '+'} ${n[4][0]}.${n[4].slice(1, 14)}…e-${k}`;
  }
  return `${s.slice(0, max - 12)}…(${s.length} chars)`;
}
