/**
 * `adzone report`: ONE self-contained HTML page from whatever result files were found — inline
 * CSS, inline SVG built here, no script, no external font, image or link. It opens with the
 * verdict (what is wrong, where, how often, how to replay it; the gate's verdict when a baseline
 * was given), then the differences from the baseline, then the plots and tables.
 */
import { ofKind, shown, type Discovered } from '../../schema/discover.ts';
import { trainRuns } from '../../schema/runs.ts';
import type { Side } from '../../gate/index.ts';
import { loneMaxPoolGenerators } from '../../gate/lone.ts';
import { type GateState, type Verdict, verdictOf } from '../verdict.ts';
import { ZONE_COLOUR, ZONE_LABEL } from './colours.ts';
import { baselineSection } from './diff.ts';
import { esc } from './svg.ts';
import { verdictSection } from './verdict.ts';
import { counterexampleSection, tieRuleSection, verifySection } from './verify.ts';
import { zonesSection } from './zones.ts';
import { accuracySection, curvesSection } from './train.ts';
import { benchSection } from './bench.ts';

const CSS = `
:root{--fg:#1d1d1f;--muted:#5f6368;--line:#d9d9de;--bg:#fff;--soft:#f6f6f8}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
header{padding:18px 28px 10px;border-bottom:1px solid var(--line);background:var(--soft)}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:2px 0;color:var(--muted)}
nav{padding:8px 28px;border-bottom:1px solid var(--line);font-size:13px}
nav a{margin-right:14px;color:#0b57d0;text-decoration:none}
main{padding:4px 28px 40px;max-width:1500px}
section{margin-top:26px}
h2{font-size:18px;border-bottom:2px solid var(--line);padding-bottom:4px}
h2 .src{font-size:12px;font-weight:normal;color:var(--muted);margin-left:8px}
h3{font-size:15px;margin:18px 0 6px}
h4{margin:0 0 4px;font-size:13px}
.meta{color:var(--muted);font-size:12.5px}
.note{color:var(--muted);font-size:12.5px;max-width:1100px}
.warn{background:#fff4e5;border-left:4px solid #E69F00;padding:6px 10px}
code{font:12px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}
code.cmd{white-space:pre;word-break:normal;overflow-wrap:normal;display:inline-block;max-width:100%;overflow-x:auto;vertical-align:bottom}
.grid{display:flex;flex-wrap:wrap;gap:14px 18px}
figure{margin:0;max-width:100%;overflow-x:auto}
figcaption{font-size:11.5px;color:var(--muted);max-width:420px}
svg.plot{background:#fff;border:1px solid #ececf0;border-radius:4px;font-family:inherit}
svg .title{font-size:13px;font-weight:600;fill:#1d1d1f}
svg .tick{font-size:10px;fill:#444}
svg .axis-label{font-size:11px;fill:#333}
svg .legend-label{font-size:10.5px;fill:#222}
svg .grid{stroke:#ececec;stroke-width:1}
svg .axis{stroke:#888;stroke-width:1}
svg .empty{font-size:12px;fill:#666}
table{border-collapse:collapse;font-size:12.5px}
th,td{border:1px solid var(--line);padding:3px 7px;text-align:left;vertical-align:top}
thead th{background:var(--soft)}
table.overview td{min-width:92px;font-variant-numeric:tabular-nums}
table.overview th{white-space:nowrap}
td.na{color:#767676;text-align:center}
td.num{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:11.5px}
.tag{font-size:10px;background:#e8eaed;border-radius:3px;padding:0 4px;color:#444;font-weight:normal}
ul.checks{padding-left:18px}
ul.checks li.ok::marker{content:"✓ ";color:#009E73}
ul.checks li.bad{color:#b3261e}
ul.checks li.bad::marker{content:"✗ ";color:#b3261e}
td.ok{color:#00734f;font-weight:600}
td.bad{color:#b3261e;font-weight:600}
.rule{font-size:13px}
.defect{margin-top:4px;padding:4px 8px;background:#f1f1f1;border-left:3px solid #000}
details{margin:8px 0}
summary{cursor:pointer}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin-top:8px}
.card{border:1px solid var(--line);border-left:5px solid #999;border-radius:4px;padding:8px 10px;width:430px;background:#fff}
.card p{margin:3px 0}
.card .unit{font-size:12px}
table.cx{margin:2px 0 6px;width:100%}
.replay code{font-size:10.5px;color:#444}
#verdict{margin-top:14px;padding:10px 16px;border-left:6px solid #00734f;background:var(--soft)}
#verdict.failing{border-left-color:#b3261e}
#verdict h2{margin-top:0;border:0}
p.lead{font-size:15px;max-width:1250px}
table.findings{margin:6px 0;background:#fff}
table.findings td{white-space:nowrap}
table.findings td.replay code.cmd{font-size:11px;display:block;max-width:560px}
tr.failing td{background:#fdecea}
i.sw{display:inline-block;width:10px;height:10px;margin-right:5px;border-radius:2px;vertical-align:baseline}
.muted{color:var(--muted)}
b.bad{color:#b3261e}
b.ok-text{color:#00734f}
.key{display:inline-flex;align-items:center;margin-right:14px;font-size:12.5px}
.key i{display:inline-block;width:12px;height:12px;margin-right:5px;border-radius:2px}
`;

export interface RenderOptions {
  readonly title?: string;
  /** Fixed time stamp (tests); default now. */
  readonly generatedAt?: string;
  /** The verdict to lead with; computed from the files when not given (no --fail-on; the gate left to the caller). */
  readonly verdict?: Verdict;
  /** The gate's two sides, for the differences from the baseline. */
  readonly sides?: { readonly base?: Side; readonly rep?: Side };
  /** A caller's own section (the nightly's stages and plan), right after the verdict and the baseline's differences. */
  readonly part?: Section;
}

export interface Section {
  readonly id: string;
  readonly title: string;
  readonly html: string;
}

/** The lone-MaxPool generators of each verify.json (by file). */
export async function loneByFile(d: Discovered): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const v of ofKind(d, 'verify')) out.set(v.file, await loneMaxPoolGenerators(v.data.generators));
  return out;
}

function verifySections(d: Discovered, lone: ReadonlyMap<string, readonly string[]>): { first: Section[]; last: Section[] } {
  const verifies = ofKind(d, 'verify');
  const first: Section[] = [];
  const last: Section[] = [];
  for (const [i, v] of verifies.entries()) {
    const suffix = verifies.length > 1 ? `-${i + 1}` : '';
    first.push({
      id: `verify${suffix}`,
      title: `Zones per generator${suffix}`,
      html: verifySection(v, `verify${suffix}`, shown(v.file), lone.get(v.file) ?? []),
    });
    first.push({ id: `tie-rules${suffix}`, title: 'Tie rules & defects', html: tieRuleSection(v, `tie-rules${suffix}`, shown(v.file)) });
    last.push({
      id: `counterexamples${suffix}`,
      title: 'Counterexamples',
      html: counterexampleSection(v, `counterexamples${suffix}`, shown(v.file)),
    });
  }
  return { first, last };
}

function sectionsOf(d: Discovered, lone: ReadonlyMap<string, readonly string[]>): Section[] {
  const verify = verifySections(d, lone);
  const sections = [...verify.first];
  for (const [i, z] of ofKind(d, 'zones').entries())
    sections.push({
      id: `zones-${i + 1}`,
      title: `Network zones: ${z.data.config.model}/${z.data.config.dataset}`,
      html: zonesSection(z, `zones-${i + 1}`, shown(z.file)),
    });
  const runs = trainRuns(d.results);
  if (runs.length) sections.push({ id: 'accuracy', title: 'Accuracy vs β', html: accuracySection(runs, 'accuracy') });
  const curves = curvesSection(d.metrics, runs, 'curves');
  if (curves) sections.push({ id: 'curves', title: 'Training curves', html: curves });
  sections.push(...verify.last);
  for (const [i, b] of ofKind(d, 'bench').entries())
    sections.push({ id: `bench-${i + 1}`, title: 'Speed', html: benchSection(b, `bench-${i + 1}`, shown(b.file)) });
  return sections;
}

/** The header's line of sources: a long list of files goes behind a disclosure, so the verdict stays at the top. */
function sourcesHtml(d: Discovered, when: string): string {
  const files = d.results.map(
    (r) => `${shown(r.file)} (${r.kind}${r.migratedFrom !== undefined ? `, migrated from version ${r.migratedFrom}` : ''})`,
  );
  const line = `Automatic differentiation through MaxPool against an exact oracle. Generated ${esc(when)} from ${d.results.length} result file${d.results.length === 1 ? '' : 's'}${d.metrics.length ? ` and ${d.metrics.length} metrics.jsonl` : ''}`;
  const notes = [
    ...d.notes,
    ...(d.foreign.length
      ? [`ignored ${d.foreign.length} JSON document(s) that are not adzone files: ${d.foreign.map(shown).join(', ')}`]
      : []),
  ];
  const noteHtml = notes.length ? `<p class="note">${notes.map(esc).join('<br>')}</p>` : '';
  if (files.length <= 4) return `<p class="meta">${line}: ${files.map(esc).join('; ')}.</p>${noteHtml}`;
  return `<p class="meta">${line}.</p><details class="files"><summary>the ${files.length} result files</summary><p class="meta">${files.map(esc).join('<br>')}</p></details>${noteHtml}`;
}

export async function renderHtml(d: Discovered, o: RenderOptions = {}): Promise<string> {
  const lone = await loneByFile(d);
  const gate: GateState = o.verdict?.gate ?? { state: 'elsewhere' };
  const verdict = o.verdict ?? verdictOf(d, { lone, failOn: [], gate });
  const diff = baselineSection(gate, o.sides ?? {});
  const sections: Section[] = [
    { id: 'verdict', title: 'Verdict', html: verdictSection(verdict) },
    ...(diff ? [{ id: 'baseline', title: 'Against the baseline', html: diff }] : []),
    ...(o.part ? [o.part] : []),
    ...sectionsOf(d, lone),
  ];
  const title = o.title ?? 'adzone report';
  const key = (['bifurcation', 'compensation:tie', 'compensation:flip', 'harmless', 'defect', 'nonfinite'] as const)
    .map((k) => `<span class="key"><i style="background:${ZONE_COLOUR[k]}"></i>${esc(ZONE_LABEL[k])}</span>`)
    .join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body><header><h1>${esc(title)}</h1>
${sourcesHtml(d, o.generatedAt ?? new Date().toISOString())}
<p>${key}</p></header>
<nav>${sections.map((s) => `<a href="#${s.id}">${esc(s.title)}</a>`).join('')}</nav>
<main>
${sections.map((s) => s.html).join('\n')}
</main></body></html>
`;
}
