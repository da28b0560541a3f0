/** The printed table of `adzone bench`: one line a row, Markdown. */
import type { BenchRow } from './types.ts';

const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

export function benchTable(rows: readonly BenchRow[]): string {
  const head = [
    '| measurement | backend | bits | accumulate | batch | ms/step (median) | spread min–max | reps | peak RSS MB | ratio | target |',
    '| --- | --- | --- | --- | ---: | ---: | --- | ---: | ---: | --- | --- |',
  ];
  const lines = rows.map((r) => {
    const time = r.msPerStep === null ? (r.skipped ? `skipped: ${r.skipped}` : `failed: ${firstLine(r.error)}`) : ms(r.msPerStep);
    const spread = r.spreadMs ? `${ms(r.spreadMs.min)}–${ms(r.spreadMs.max)}` : '';
    const seconds = (q: (typeof r.ratios)[number]) => q.to === 'seconds';
    const ratio = r.ratios
      .map((q) => (seconds(q) ? `${q.value.toFixed(1)} ${q.toLabel}` : `${q.value.toFixed(2)}× ${q.toLabel}`))
      .join('; ');
    const target = r.ratios
      .filter((q) => q.verdict)
      .map((q) => `≤ ${q.max}${seconds(q) ? ' s' : '×'} ${q.verdict}`)
      .join('; ');
    const rss = r.peakRssMB === null ? '' : r.peakRssMB.toFixed(0);
    return `| ${r.measurement} | ${r.backend} | ${r.precision} | ${r.accumulate} | ${r.batchSize} | ${time} | ${spread} | ${r.reps || ''} | ${rss} | ${ratio} | ${target} |`;
  });
  return [...head, ...lines].join('\n');
}

function firstLine(s: string | undefined): string {
  return (s ?? 'unknown error').split('\n')[0].replace(/\|/g, '/');
}
