import { ZONE_CLASSES } from '../problem/index.ts';
import type { Counterexample, Finding, TableRow, VerifyHeader, VerifyResult } from '../schema/verify.ts';

export type { VerifyHeader } from '../schema/verify.ts';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** Shorten a long exact decimal for a table cell (the JSON keeps every digit). */
function short(s: string, max = 28): string {
  return s.length <= max ? s : `${s.slice(0, max - 6)}…(${s.length} chars)`;
}

function tableFor(rows: readonly TableRow[]): string {
  const head = `| backend | precision | n | ${ZONE_CLASSES.join(' | ')} | non-regular | harmless rounding diffs | underflow | inconsistent |`;
  const sep = `|${' --- |'.repeat(ZONE_CLASSES.length + 7)}`;
  const body = rows.map(
    (r) =>
      `| ${r.backend} | ${r.precision} | ${r.n} | ${ZONE_CLASSES.map((z) => r.counts[z]).join(' | ')} | ${pct(r.nonRegularShare)} | ${r.harmlessRoundingDiffs} | ${r.underflow} | ${r.inconsistent} |`,
  );
  return [head, sep, ...body].join('\n');
}

function findingTable(f: Finding): string {
  const lines = [
    `- layer ${f.layer} ${f.kind} ${f.kind === 'maxpool' ? 'window' : 'unit'} ${f.unit}: ${f.what}; exact ${f.kind === 'maxpool' ? 'tie set' : 'sign'} [${f.exact.join(', ')}]` +
      (f.rounded ? `, in precision p [${f.rounded.join(', ')}]` : '') +
      (f.matters ? '' : ' (alone it does not change the gradient)'),
    '',
    '  | index | exact value | value in p |',
    '  | --- | --- | --- |',
    ...f.entries.map((e) => `  | ${e.index} | ${short(e.exact)} | ${e.rounded === null ? '—' : e.rounded} |`),
  ];
  return lines.join('\n');
}

function counterexampleSection(c: Counterexample): string {
  const cl = c.classification;
  const p = c.case.problem;
  const vc = cl.valueChecks.map(
    (v) =>
      `${v.jacobian}: max |AD_p − AD_R| = ${v.maxError.toExponential(3)} (bound ${v.bound.toExponential(3)})${v.within ? '' : ' **beyond rounding**'}`,
  );
  return [
    `### ${c.generator} · ${c.backend} @ ${c.precision} bits · ${c.class}`,
    '',
    `Input ${p.input.shape.join('×')}, layers: ${p.layers.map((l) => (l.kind === 'relu' ? 'relu' : `${l.kind} k${l.kernel.join('×')} s${l.stride.join('×')} p${l.padding.join('×')}`)).join(' → ')}; ` +
      `shrunk in ${c.numShrinks} steps. Replay: \`adzone replay --generator ${c.generator} --seed ${c.seed} --path ${c.path} --precision ${c.precision} --backend ${c.backend}\``,
    '',
    ...cl.findings.slice(0, 4).map(findingTable),
    cl.findings.length > 4 ? `- … ${cl.findings.length - 4} more units in verify.json` : '',
    '',
    vc.length ? `Value check — ${vc.join('; ')}` : '',
    cl.matchedRules ? `Matches the exact AD of: ${cl.matchedRules.join(', ') || 'no family member'}` : '',
    cl.reason ? `Reason: ${cl.reason}` : '',
    '',
  ]
    .filter((l, i, a) => l !== '' || a[i - 1] !== '')
    .join('\n');
}

export function verifyMarkdown(h: VerifyHeader, r: VerifyResult): string {
  const out: string[] = [];
  out.push('# adzone verify', '');
  out.push(`\`${h.command}\` — ${h.createdAt}, ${r.seconds.toFixed(1)} s`, '');
  out.push(
    `Seed ${h.seed}, ${h.samples} draws per generator, precisions ${h.precisions.join(', ')}, family {${h.jacobians.join(', ')}} × ReLU'(0) ∈ {${h.reluAlphas.join(', ')}}, accumulation ${h.accumulate}.`,
    '',
  );
  out.push(
    'Backends:',
    ...h.backends.map((b) => `- ${b.id}: ${b.description}`),
    ...h.unavailable.map((u) => `- ${u.id}: skipped — ${u.unavailable}`),
    '',
  );
  if (h.tieRules.length) {
    out.push('Tie rule measured per framework backend:', ...h.tieRules.map((t) => `- ${t.backend}: **${t.rule}** (${t.evidence})`), '');
  }
  out.push(
    'Zones (docs/DESIGN.md §3): **bifurcation** — over the reals a tie is hit and the Jacobian choice changes the gradient; ' +
      '**compensation** — correct over the reals, but rounding in precision p made a tie (`tie`) or swapped an argmax or ReLU sign (`flip`) that changes it; ' +
      '**regular** — AD_p equals the exact gradient up to rounding error; **nonfinite** — NaN/Inf in the point or overflow in p, outside the zones; ' +
      '**defect** — a framework result that is the exact AD of no admissible Jacobian along the routing of its own forward values (a bug, not a zone). ' +
      'A lone MaxPool classifies its input gradient; chains classify the parameter gradient.',
    '',
  );
  out.push('## Zone counts', '');
  for (const g of h.generators) {
    const rows = r.table.filter((t) => t.generator === g.id);
    if (!rows.length) continue;
    out.push(`### ${g.id}${g.nearTie ? ' (near-tie)' : ''}`, '', g.description, '', tableFor(rows), '');
  }
  out.push('## Real ties (over the reals, per generator)', '');
  out.push(
    '| generator | draws | tied windows | harmful | all-zero after ReLU | other harmless | ReLU inputs = 0 |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const t of r.realTies)
    out.push(`| ${t.generator} | ${t.draws} | ${t.tiedWindows} | ${t.harmful} | ${t.allZero} | ${t.otherHarmless} | ${t.reluZeros} |`);
  out.push('');
  out.push('## Minimal counterexamples', '');
  if (!r.counterexamples.length) out.push('None: every draw was regular.', '');
  for (const c of r.counterexamples) out.push(counterexampleSection(c));
  return `${out.join('\n')}\n`;
}
