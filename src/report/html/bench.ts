/** The bench/results.json section: median ms per step with its spread (log scale), and the targets. */
import type { ReadResult } from '../../schema/index.ts';
import { PALETTE } from './colours.ts';
import { esc, pow10, rangeChart } from './svg.ts';

export function benchSection(res: ReadResult<'bench'>, id: string, fileLabel: string): string {
  const b = res.data;
  const out: string[] = [`<section id="${id}"><h2>Speed (bench) <span class="src">${esc(fileLabel)}</span></h2>`];
  out.push(
    `<p class="meta"><code>${esc(b.command)}</code> — ${esc(b.createdAt)}, ${b.runSeconds.toFixed(0)} s on ${esc(b.machine.cpuModel)} (${b.machine.cores} cores, load ${b.machine.loadavgStart.map((x) => x.toFixed(1)).join('/')} at start).</p>`,
  );
  const groups = [...new Set(b.rows.map((r) => r.group))];
  const series = groups.map((g, i) => ({ key: g, label: g, colour: PALETTE[i % PALETTE.length] }));
  const vals = b.rows.flatMap((r) =>
    r.msPerStep === null ? [] : [r.msPerStep, r.spreadMs?.min ?? r.msPerStep, r.spreadMs?.max ?? r.msPerStep],
  );
  if (vals.some((x) => x > 0)) {
    // times per step span decades (engine 64-bit against tfjs): a log axis always, whatever this run's spread
    const pos = vals.filter((x) => x > 0);
    const sc = {
      scale: 'log' as const,
      min: pow10(Math.floor(Math.log10(Math.min(...pos)))),
      max: pow10(Math.ceil(Math.log10(Math.max(...pos)) + 1e-9)),
    };
    out.push(
      `<figure>${rangeChart({
        id: `${id}-ms`,
        title: 'Median time per step (dot) and min–max over timed steps (bar)',
        series,
        rows: b.rows.map((r) => ({
          label: `${r.id} (batch ${r.batchSize})`,
          series: r.group,
          value: r.msPerStep,
          lo: r.spreadMs?.min,
          hi: r.spreadMs?.max,
          title:
            r.msPerStep === null
              ? `${r.id}: ${r.error ?? r.skipped ?? 'no time'}`
              : `${r.id}: ${r.msPerStep.toFixed(1)} ms (min ${r.spreadMs?.min.toFixed(1)}, max ${r.spreadMs?.max.toFixed(1)}), peak ${r.peakRssMB?.toFixed(0) ?? '?'} MB`,
        })),
        x: {
          label: 'ms per step (log scale)',
          scale: sc.scale,
          min: sc.min,
          max: sc.max,
        },
      })}</figure>`,
    );
  }
  if (b.targets.length) {
    out.push('<table class="small"><thead><tr><th>target</th><th>bound</th><th>row</th><th>ratio</th><th>verdict</th></tr></thead><tbody>');
    for (const t of b.targets) {
      if (!t.results.length)
        out.push(`<tr><td title="${esc(t.description)}">${esc(t.id)}</td><td>≤ ${t.max}</td><td colspan="3">not measured</td></tr>`);
      for (const r of t.results) {
        out.push(
          `<tr><td title="${esc(t.description)}">${esc(t.id)}</td><td>≤ ${t.max}</td><td>${esc(r.row)}</td><td>${Number.isFinite(r.ratio) ? r.ratio.toFixed(2) : String(r.ratio)}</td><td class="${r.verdict === 'PASS' ? 'ok' : 'bad'}">${esc(r.verdict ?? '—')}</td></tr>`,
        );
      }
    }
    out.push('</tbody></table>');
  }
  const failed = b.rows.filter((r) => r.error || r.skipped);
  if (failed.length)
    out.push(`<p class="warn">${failed.map((r) => `${esc(r.id)}: ${esc((r.error ?? r.skipped ?? '').split('\n')[0])}`).join('<br>')}</p>`);
  for (const n of b.notes) out.push(`<p class="note">${esc(n)}</p>`);
  out.push('</section>');
  return out.join('\n');
}
