/**
 * `adzone report` as a stage: `report(config)` reads every file under the input folders (each valid
 * or a named error; every derived number checked against its counts, as the gate does), optionally
 * runs the gate against a baseline, and returns the HTML page, the Markdown summary and the JUnit
 * XML as strings with the verdict they lead with. No argv, no printing, no writing: the command
 * checks its outputs are writable first and writes them as one transaction.
 */
import { resolve } from 'node:path';
import { discover, type Discovered, shown } from '../schema/discover.ts';
import { SchemaError } from '../schema/index.ts';
import { ConfigError, InputError } from '../util/errors.ts';
import { checkDerived } from '../gate/derived.ts';
import { gateWithSides, type Side } from '../gate/index.ts';
import { FAIL_ON_CLASSES, type FailOnClass } from './findings.ts';
import { loneByFile, renderHtml, type Section } from './html/index.ts';
import { type JunitSuite, junitXml } from './junit.ts';
import { summaryMarkdown } from './summary.ts';
import { type GateState, type Verdict, verdictOf } from './verdict.ts';

export { FAIL_ON_CLASSES, type FailOnClass } from './findings.ts';
export type { GateState } from './verdict.ts';
export type { JunitSuite } from './junit.ts';

/** The gate as a caller already ran it (the nightly, which records the verdict itself): its state, and the two sides it loaded. */
export interface GateRun {
  readonly gate: GateState;
  readonly sides: { readonly base?: Side; readonly rep?: Side };
}

/** A caller's own part of the report (the nightly's stages and plan), placed right after the verdict in each output. */
export interface ReportPart {
  readonly html: Section;
  readonly markdown: string;
  readonly junitSuites: readonly JunitSuite[];
  /** The JUnit `<testsuites>` name. */
  readonly junitName?: string;
}

export interface ReportConfig {
  /** Folders (or files) holding result files. */
  readonly inputs: readonly string[];
  readonly title?: string;
  /** Classes whose draws fail a row (JUnit failures, exit 1): words of FAIL_ON_CLASSES. */
  readonly failOn?: readonly string[];
  /** A gate baseline: its verdict leads the report and the differences are drawn (one input folder only). */
  readonly baseline?: string;
  /** The gate's thresholds file (default `<baseline>/thresholds.json`). */
  readonly thresholds?: string;
  /** The HTML file's path, named (by its file name only) in the Markdown summary. */
  readonly htmlPath?: string;
  /** Fixed time stamp (tests); default now. */
  readonly generatedAt?: string;
  /** The gate already run (instead of `baseline`): its verdict leads the report, and it is not run a second time. */
  readonly gateRun?: GateRun;
  readonly part?: ReportPart;
}

export interface ReportResult {
  readonly html: string;
  readonly markdown: string;
  readonly junit: string;
  readonly discovered: Discovered;
  readonly verdict: Verdict;
  /** 0 nothing fails; 1 a --fail-on finding, a failing self-check or a gate regression; 2 the gate could not use its baseline. */
  readonly exitCode: 0 | 1 | 2;
  /** "1 verify, 1 zones, 4 train" and the metrics files read. */
  readonly tally: string;
}

function resolveFailOn(list: readonly string[] | undefined): FailOnClass[] {
  const items = [...(list ?? [])];
  const bad = items.filter((x) => !(FAIL_ON_CLASSES as readonly string[]).includes(x));
  if (bad.length)
    throw new ConfigError(
      'failOn',
      `failOn: unknown class${bad.length > 1 ? 'es' : ''} ${bad.map((b) => `'${b}'`).join(', ')}; expected some of ${FAIL_ON_CLASSES.join(', ')}`,
    );
  return items as FailOnClass[];
}

/** The gate against the baseline, as the report shows it: its result and sides, or why it could not run. */
async function gateState(c: ReportConfig): Promise<GateRun> {
  if (c.gateRun) return c.gateRun;
  if (!c.baseline) return { gate: { state: 'not-run' }, sides: {} };
  if (c.inputs.length !== 1)
    throw new ConfigError('baseline', `baseline: the gate compares one report folder with the baseline, got ${c.inputs.length} inputs`);
  try {
    const g = await gateWithSides({ baseline: c.baseline, report: c.inputs[0], ...(c.thresholds ? { thresholds: c.thresholds } : {}) });
    return { gate: { state: 'done', result: g.result }, sides: { base: g.base, rep: g.rep } };
  } catch (e) {
    if (!(e instanceof SchemaError || e instanceof InputError)) throw e;
    return { gate: { state: 'unusable', baseline: shown(resolve(c.baseline)), message: e.message }, sides: {} };
  }
}

export async function report(config: ReportConfig): Promise<ReportResult> {
  if (!config.inputs.length)
    throw new ConfigError('inputs', 'inputs: at least one folder holding result files is needed (e.g. reports/verify)');
  const failOn = resolveFailOn(config.failOn);
  const d = discover(config.inputs.map((p) => resolve(p)));
  if (!d.results.length)
    throw new InputError(
      `no result files (verify.json, zones.json, results.json, result.json, ablate.json) under ${config.inputs.join(', ')}`,
      config.inputs[0],
    );
  checkDerived(d);
  const { gate, sides } = await gateState(config);
  const lone = await loneByFile(d);
  const verdict = verdictOf(d, { lone, failOn, gate });
  const title = config.title ?? 'adzone report';
  const part = config.part;
  const html = await renderHtml(d, {
    title,
    verdict,
    sides,
    ...(config.generatedAt ? { generatedAt: config.generatedAt } : {}),
    ...(part ? { part: part.html } : {}),
  });
  const markdown = await summaryMarkdown(d, {
    title,
    verdict,
    ...(config.htmlPath ? { htmlPath: config.htmlPath } : {}),
    ...(part ? { part: part.markdown } : {}),
  });
  const junit = await junitXml(d, { failOn, ...(part ? { extraSuites: part.junitSuites, name: part.junitName } : {}) });
  const kinds = d.results.map((r) => r.kind);
  const tally = `${[...new Set(kinds)].map((k) => `${kinds.filter((x) => x === k).length} ${k}`).join(', ')}${d.metrics.length ? `, ${d.metrics.length} metrics.jsonl` : ''}`;
  const exitCode = gate.state === 'unusable' ? 2 : verdict.failing ? 1 : 0;
  return { html, markdown, junit, discovered: d, verdict, exitCode, tally };
}
