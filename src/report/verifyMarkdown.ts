/**
 * verify.md: what `adzone verify` found, for a reader. It opens with the compact generator ×
 * (backend, precision) table the README shows, then says what every column and abbreviation
 * means, then gives the full tables, the real-tie census, the shrinking budget and each minimal
 * counterexample with the replay line that re-creates it. Exact values are printed whole; one too
 * long for a line is cut with the count of its characters and the verify.json path that holds all of them.
 */
import { ZONE_CLASSES } from '../problem/index.ts';
import type { Counterexample, Finding, TableRow, VerifyHeader, VerifyResult } from '../schema/verify.ts';

export type { VerifyHeader } from '../schema/verify.ts';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** Exact values up to this many characters are printed whole. */
const WHOLE = 80;

/** An exact value for a table cell: whole, or cut with where the rest is. */
function exactCell(s: string, where: string): string {
  if (s.length <= WHOLE) return s;
  return `${s.slice(0, 40)}…${s.slice(-10)} (${s.length} characters; every one in verify.json at ${where})`;
}

/** Defaults of the family, α, accumulation and β mode: a replay line names only what differs. */
const REPLAY_DEFAULTS = { jacobians: 'first,minnorm,beta:10', reluAlphas: '0', accumulate: 'strict', betaMode: 'backward' };

export function replayLine(
  c: Counterexample,
  h: Pick<VerifyHeader, 'jacobians' | 'reluAlphas' | 'accumulate'>,
  betaMode = 'backward',
): string {
  const extra = [
    h.jacobians.join(',') !== REPLAY_DEFAULTS.jacobians ? ` --jacobians ${h.jacobians.join(',')}` : '',
    h.reluAlphas.join(',') !== REPLAY_DEFAULTS.reluAlphas ? ` --relu-alpha ${h.reluAlphas.join(',')}` : '',
    h.accumulate !== REPLAY_DEFAULTS.accumulate ? ` --accumulate ${h.accumulate}` : '',
    betaMode !== REPLAY_DEFAULTS.betaMode ? ` --beta-mode ${betaMode}` : '',
  ].join('');
  return `adzone replay --generator ${c.generator} --seed ${c.seed >>> 0} --path ${c.path} --precision ${c.precision} --backend ${c.backend}${extra}`;
}

/** One cell of the compact table: 'B 1998, C 5 (3 flip), D 1', or 'all regular'. */
export function compactCell(r: TableRow): string {
  const c = r.counts;
  const comp = c['compensation:tie'] + c['compensation:flip'];
  const parts = [
    c.bifurcation ? `B ${c.bifurcation}` : '',
    comp ? `C ${comp}${c['compensation:flip'] ? ` (${c['compensation:flip']} flip)` : ''}` : '',
    c.defect ? `D ${c.defect}` : '',
    c.nonfinite ? `NF ${c.nonfinite}` : '',
    r.inconsistent ? `I ${r.inconsistent}` : '',
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'all regular';
}

/** The generator × (backend, precision) table of the README. */
export function compactTable(h: Pick<VerifyHeader, 'generators'>, table: readonly TableRow[]): string {
  const columns: string[] = [];
  for (const r of table) if (!columns.includes(`${r.backend} ${r.precision}`)) columns.push(`${r.backend} ${r.precision}`);
  const lines = [`| generator | ${columns.join(' | ')} |`, `| --- |${' --- |'.repeat(columns.length)}`];
  for (const g of h.generators) {
    const rows = new Map(table.filter((t) => t.generator === g.id).map((t) => [`${t.backend} ${t.precision}`, t]));
    if (!rows.size) continue;
    lines.push(`| ${g.id} | ${columns.map((k) => (rows.has(k) ? compactCell(rows.get(k)!) : '—')).join(' | ')} |`);
  }
  return lines.join('\n');
}

const COMPACT_LEGEND =
  'Each column is one backend at one precision (bits); each row one generator, all its draws. ' +
  '**B** bifurcation: over the reals a tie is hit and the choice of Jacobian changes the gradient. ' +
  '**C** compensation: right over the reals, but rounding in p made a tie or swapped an argmax or a ReLU sign, and that changes the gradient; in brackets, how many of them were swaps (`flip`), the rest rounding-made ties (`tie`). ' +
  '**D** defect: a framework result that is the exact AD of no admissible Jacobian along the routing of its own forward values (a bug in the framework, not a zone). ' +
  '**NF** nonfinite: NaN or ±Inf in the point, or an overflow in p. ' +
  '**I** inconsistent: a regular draw outside the rigorous rounding bound (none expected; shown only when there is one). ' +
  'Every draw not counted in a cell is regular: AD in p equals the exact AD up to rounding error. Zones: docs/DESIGN.md §3.';

const COLUMNS_LEGEND = [
  'Columns of the tables below, one row per backend and precision:',
  '',
  '- **n**: draws classified (the same for every row of a generator).',
  `- **${ZONE_CLASSES.join('**, **')}**: draws in each class (the compact table's B, C, D, NF; \`compensation:tie\` and \`compensation:flip\` are C by cause). They add up to n.`,
  '- **non-regular**: (bifurcation + compensation) / (n − nonfinite): the share of finite draws in a zone (defects are counted apart).',
  '- **harmless rounding diffs**: draws where rounding changed the routing (a tie set or a ReLU sign) without changing the gradient over the reals; they stay regular.',
  '- **underflow**: draws whose computation in p underflowed: the rounding bound (the standard model) does not apply to them, and their value check says so.',
  '- **inconsistent**: regular draws whose value lies outside the rigorous bound γ_N·Σ|terms| without underflow: the classifier and the bound disagree (should be 0).',
  '- **no forward**: framework verdicts taken without the backend’s forward values, where a compensation may hide a routing defect.',
].join('\n');

function tableFor(rows: readonly TableRow[]): string {
  const head = `| backend | precision | n | ${ZONE_CLASSES.join(' | ')} | non-regular | harmless rounding diffs | underflow | inconsistent | no forward |`;
  const sep = `|${' --- |'.repeat(ZONE_CLASSES.length + 8)}`;
  const body = rows.map(
    (r) =>
      `| ${r.backend} | ${r.precision} | ${r.n} | ${ZONE_CLASSES.map((z) => r.counts[z] ?? 0).join(' | ')} | ${pct(r.nonRegularShare)} | ${r.harmlessRoundingDiffs} | ${r.underflow ?? 0} | ${r.inconsistent} | ${r.noForward ?? 0} |`,
  );
  return [head, sep, ...body].join('\n');
}

function findingTable(f: Finding, where: string): string {
  const lines = [
    `- layer ${f.layer} ${f.kind} ${f.kind === 'maxpool' ? 'window' : 'unit'} ${f.unit}: ${f.what}; exact ${f.kind === 'maxpool' ? 'tie set' : 'sign'} [${f.exact.join(', ')}]` +
      (f.rounded ? `, in precision p [${f.rounded.join(', ')}]` : '') +
      (f.matters ? '' : ' (alone it does not change the gradient)'),
    '',
    '  | index | exact value | value in p |',
    '  | --- | --- | --- |',
    ...f.entries.map(
      (e, k) => `  | ${e.index} | ${exactCell(e.exact, `${where}.entries[${k}].exact`)} | ${e.rounded === null ? '—' : e.rounded} |`,
    ),
  ];
  return lines.join('\n');
}

function counterexampleSection(c: Counterexample, i: number, h: VerifyHeader, betaMode: string): string {
  const cl = c.classification;
  const p = c.case.problem;
  const vc = cl.valueChecks.map(
    (v) =>
      `${v.jacobian}: max |AD_p − AD_R| ≈ ${v.maxError.toExponential(3)} (bound ≈ ${v.bound.toExponential(3)})${v.within ? '' : ' **beyond rounding**'}`,
  );
  const shrunk = `shrunk in ${c.numShrinks} steps${c.shrinkSteps === undefined ? '' : ` (${c.shrinkSteps} candidates tried${c.shrinkExhausted ? ', stopped by the budget: a smaller case may exist' : ''})`}`;
  const layers = p.layers
    .map((l) => (l.kind === 'relu' ? 'relu' : `${l.kind} k${l.kernel.join('×')} s${l.stride.join('×')} p${l.padding.join('×')}`))
    .join(' → ');
  return [
    `### ${c.generator} · ${c.backend} @ ${c.precision} bits · ${c.class}`,
    '',
    `Input ${p.input.shape.join('×')}, layers: ${layers}; ${shrunk}. Replay: \`${replayLine(c, h, betaMode)}\``,
    '',
    ...cl.findings.slice(0, 4).map((f, k) => findingTable(f, `counterexamples[${i}].classification.findings[${k}]`)),
    cl.findings.length > 4 ? `- … ${cl.findings.length - 4} more units in verify.json (counterexamples[${i}].classification.findings)` : '',
    '',
    vc.length ? `Value check — ${vc.join('; ')}` : '',
    cl.matchedRules ? `Matches the exact AD of: ${cl.matchedRules.join(', ') || 'no family member'}` : '',
    cl.reason ? `Reason: ${cl.reason}` : '',
    '',
  ]
    .filter((l, k, a) => l !== '' || a[k - 1] !== '')
    .join('\n');
}

function runLines(h: VerifyHeader, r: VerifyResult): string[] {
  const cpu = r.cpuSeconds === undefined ? '' : `, ${r.cpuSeconds.toFixed(1)} s CPU on ${r.jobs ?? 1} thread(s)`;
  return ['# adzone verify', '', `\`${h.command}\` — ${h.createdAt}, ${r.seconds.toFixed(1)} s wall${cpu}.`, ''];
}

function settingsLines(h: VerifyHeader): string[] {
  return [
    `Seed ${h.seed}, ${h.samples} draws per generator, precisions ${h.precisions.join(', ')}, family {${h.jacobians.join(', ')}} × ReLU'(0) ∈ {${h.reluAlphas.join(', ')}}, accumulation ${h.accumulate}.`,
    '',
  ];
}

function backendLines(h: VerifyHeader): string[] {
  const out = [
    'Backends:',
    ...h.backends.map((b) => `- ${b.id}: ${b.description}`),
    ...h.unavailable.map((u) => `- ${u.id}: skipped — ${u.unavailable}`),
    '',
  ];
  if (h.tieRules.length)
    out.push('Tie rule measured per framework backend:', ...h.tieRules.map((t) => `- ${t.backend}: **${t.rule}** (${t.evidence})`), '');
  return out;
}

function realTieLines(r: VerifyResult): string[] {
  return [
    '## Real ties (over the reals, per generator)',
    '',
    'Tied windows are MaxPool windows with two or more exact maximisers in the draws of a generator. **harmful**: the choice among the tied entries changes the classified gradient. ' +
      '**all-zero after ReLU**: every tied entry is a ReLU output whose input is negative, so ReLU′ erases whatever MaxPool routes there. ' +
      '**other harmless**: harmless for another reason (identical patches, zero cotangent, cancelling windows). **ReLU inputs = 0**: ReLU units exactly at 0 over the reals.',
    '',
    '| generator | draws | tied windows | harmful | all-zero after ReLU | other harmless | ReLU inputs = 0 |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...r.realTies.map(
      (t) => `| ${t.generator} | ${t.draws} | ${t.tiedWindows} | ${t.harmful} | ${t.allZero} | ${t.otherHarmless} | ${t.reluZeros} |`,
    ),
    '',
  ];
}

function shrinkLines(r: VerifyResult): string[] {
  if (!r.shrink) return ['## Minimal counterexamples', '', 'Not shrunk in this run (--no-shrink, or results imported from a bridge).', ''];
  const s = r.shrink;
  return [
    '## Minimal counterexamples',
    '',
    `One per non-regular class of each (generator, backend, precision): fast-check shrinks the first draw of that class, trying at most ${s.steps} candidates (the run's budget, --shrink-steps). ` +
      `${s.classes} classes were shrunk; the budget stopped ${s.exhausted} of them with candidates left (their case is small, not proven minimal). ` +
      'Each replay line re-creates the case and prints its class; seeds are printed unsigned (a signed seed names the same draws).',
    '',
  ];
}

export function verifyMarkdown(h: VerifyHeader, r: VerifyResult, betaMode = 'backward'): string {
  const out: string[] = [...runLines(h, r), '## Zone counts', '', compactTable(h, r.table), '', COMPACT_LEGEND, ''];
  out.push(...settingsLines(h), ...backendLines(h));
  out.push('## Per generator', '', COLUMNS_LEGEND, '');
  for (const g of h.generators) {
    const rows = r.table.filter((t) => t.generator === g.id);
    if (!rows.length) continue;
    out.push(`### ${g.id}${g.nearTie ? ' (near-tie)' : ''}`, '', g.description, '', tableFor(rows), '');
  }
  out.push(...realTieLines(r), ...shrinkLines(r));
  if (!r.counterexamples.length) out.push(r.shrink ? 'None: every draw was regular.' : '', '');
  r.counterexamples.forEach((c, i) => {
    out.push(counterexampleSection(c, i, h, betaMode));
  });
  return `${out.join('\n')}\n`;
}
