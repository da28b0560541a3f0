/**
 * Successive halving over the trials of a search, as pure functions of where the trials stand, so
 * that a resumed search takes exactly the decisions an uninterrupted one took.
 *
 * Every trial enters the first rung. A rung is decided once each trial that entered it has either
 * been evaluated at the rung's epoch or ended before it (a NaN/Inf loss). Then the best ⌈entered /
 * eta⌉ of those evaluated go on to the next rung; the others are pruned there. A trial is scored at
 * a rung by its validation accuracy at that epoch, ties broken by the lower validation loss, then by
 * the lower trial index. The trial chosen is the best at the furthest rung any trial reached; when
 * none reached the first rung (every one diverged early), the one evaluated at the latest epoch,
 * scored there.
 */
import type { TuneSearch } from '../../schema/tune.ts';

export interface TrialEpoch {
  readonly epoch: number;
  readonly loss: number;
  readonly trainAcc: number | null;
  readonly valAcc: number | null;
  readonly valLoss: number | null;
  readonly seconds: number;
  /** Cut short by a NaN/Inf loss. */
  readonly partial: boolean;
}

export interface TrialProgress {
  readonly index: number;
  readonly lr: number;
  /** Epochs evaluated so far, in order. */
  readonly epochs: readonly TrialEpoch[];
  /** The run has ended: completed its epochs, or diverged (divergence says why). */
  readonly ended: boolean;
  readonly divergence: string | null;
}

export interface RungState {
  readonly epoch: number;
  /** Trial indices that entered the rung. */
  readonly entered: readonly number[];
  /** Entrants evaluated at the rung's epoch, best first. */
  readonly ranked: readonly number[];
  /** Entrants still to be trained up to the rung's epoch. */
  readonly waiting: readonly number[];
  /** Once decided (and not the last rung): those that go on. */
  readonly promoted: readonly number[] | null;
}

/** A trial's evaluation at an epoch, when it has a whole one. */
export function scoreAt(t: TrialProgress, epoch: number): TrialEpoch | null {
  const e = t.epochs.find((x) => x.epoch === epoch);
  return e && !e.partial ? e : null;
}

const accKey = (e: TrialEpoch | null) => e?.valAcc ?? -1;
const lossKey = (e: TrialEpoch | null) => (e && e.valLoss !== null && Number.isFinite(e.valLoss) ? e.valLoss : Infinity);

/** Better first: higher validation accuracy, then lower validation loss, then lower index. */
export function compareScores(a: { index: number; e: TrialEpoch | null }, b: { index: number; e: TrialEpoch | null }): number {
  return accKey(b.e) - accKey(a.e) || lossKey(a.e) - lossKey(b.e) || a.index - b.index;
}

/** The rungs as far as the trials' progress decides them (later rungs absent until entered). */
export function rungStates(search: TuneSearch, trials: readonly TrialProgress[]): RungState[] {
  const byIndex = new Map(trials.map((t) => [t.index, t]));
  const out: RungState[] = [];
  let entered = trials.map((t) => t.index);
  for (const [k, epoch] of search.rungs.entries()) {
    const ts = entered.map((i) => byIndex.get(i)!);
    const ranked = ts
      .map((t) => ({ index: t.index, e: scoreAt(t, epoch) }))
      .filter((x) => x.e !== null)
      .sort(compareScores)
      .map((x) => x.index);
    const waiting = ts.filter((t) => !t.ended && scoreAt(t, epoch) === null).map((t) => t.index);
    const last = k === search.rungs.length - 1;
    const promoted = waiting.length || last ? null : ranked.slice(0, Math.ceil(entered.length / search.eta));
    out.push({ epoch, entered, ranked, waiting, promoted });
    if (!promoted?.length) break;
    entered = [...promoted].sort((a, b) => a - b);
  }
  return out;
}

/** The search is over: its last rung reached and decided (all its entrants evaluated or ended), or nobody left to go on. */
export function searchDone(search: TuneSearch, rungs: readonly RungState[]): boolean {
  const r = rungs.at(-1);
  return r !== undefined && r.waiting.length === 0 && (rungs.length === search.rungs.length || r.promoted?.length === 0);
}

export interface Choice {
  readonly trial: number;
  readonly epoch: number;
  readonly score: TrialEpoch | null;
  readonly why: string;
}

/** The trial chosen once the search is over. */
export function chooseTrial(search: TuneSearch, trials: readonly TrialProgress[], rungs: readonly RungState[]): Choice {
  const byIndex = new Map(trials.map((t) => [t.index, t]));
  for (let k = rungs.length - 1; k >= 0; k--) {
    const r = rungs[k];
    if (!r.ranked.length) continue;
    const i = r.ranked[0];
    const at = k === search.rungs.length - 1 ? 'the last rung' : `rung ${k + 1} of ${search.rungs.length}, the furthest any trial reached`;
    return {
      trial: i,
      epoch: r.epoch,
      score: scoreAt(byIndex.get(i)!, r.epoch),
      why: `best validation accuracy (then loss) at epoch ${r.epoch}, ${at}`,
    };
  }
  // nobody reached the first rung: the trial that lasted longest, scored at its last whole epoch
  const lastWhole = (t: TrialProgress) => [...t.epochs].reverse().find((e) => !e.partial) ?? null;
  const best = [...trials].sort(
    (a, b) =>
      (lastWhole(b)?.epoch ?? 0) - (lastWhole(a)?.epoch ?? 0) ||
      compareScores({ index: a.index, e: lastWhole(a) }, { index: b.index, e: lastWhole(b) }),
  )[0];
  const e = lastWhole(best);
  return {
    trial: best.index,
    epoch: e?.epoch ?? 0,
    score: e,
    why: `no trial reached the first rung (epoch ${search.rungs[0]}): the one evaluated at the latest epoch, best there`,
  };
}
