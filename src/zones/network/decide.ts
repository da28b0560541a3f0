/**
 * The routing units of exact.ts, decided by the first filter stage that can: every ReLU sign, and
 * every MaxPool window's exact tie set with the window's output (value, bound, structural id).
 */
import { type Dy, dyCmp, dySign, type NodeOf } from '../../oracle/network/index.ts';
import { certainlyGreater, SLACK, TINY } from './bounds.ts';
import { Interner } from './interner.ts';
import { type Counter, listOf, NO_TIES, newCounter, type RunContext, SidCache, type TState, ZERO_SID } from './state.ts';

export function reluForward(run: RunContext, nd: NodeOf<'relu'>, k: number, out: TState): void {
  const n = out.val.length;
  const sign = new Int8Array(n);
  const cnt = newCounter();
  const decided = new Map<number, -1 | 0 | 1>();
  const { val, err, sid } = run.t[nd.input];
  for (let i = 0; i < n; i++) {
    const v = val[i];
    const e = err[i];
    let s: -1 | 0 | 1;
    if (e === 0) {
      s = v > 0 ? 1 : v < 0 ? -1 : 0;
      cnt.float++;
    } else if (v > e) {
      s = 1;
      cnt.float++;
    } else if (v < -e) {
      s = -1;
      cnt.float++;
    } else {
      const known = decided.get(sid[i]);
      if (known !== undefined) {
        s = known;
        cnt.structural++;
      } else {
        s = dySign(run.exactAt(nd.input, i));
        decided.set(sid[i], s);
        cnt.exact++;
      }
    }
    sign[i] = s;
    if (s > 0) {
      out.val[i] = v;
      out.err[i] = err[i];
    }
    // A strictly negative pre-activation makes the output the constant 0 for its value and for
    // the parameter gradient (ReLU' = 0 there): every such unit gets the one constant-zero sid,
    // so patches that differ only in *which* negative value was clipped are identical. An input
    // exactly 0 keeps its sid: with ReLU'(0) = α ≠ 0 its gradient still depends on it.
    out.sid[i] = s < 0 ? ZERO_SID : sid[i];
  }
  run.signs.set(k, sign);
  run.counters.set(k, cnt);
}

/**
 * Every window of a MaxPool node: its exact tie set, and its output (value, bound, structural id).
 * Output sids: 2·d(s) for a window won by the one computation s (d: a dense numbering of the input
 * sids), 2·(interned window key) + 1 otherwise: disjoint, and each injective.
 */
export function maxpoolForward(run: RunContext, nd: NodeOf<'maxpool'>, k: number, out: TState): void {
  const w = windowState(run, nd, out);
  const [N, C, H, W] = run.g.tensors[nd.input].shape;
  const { outH, outW, kk, map } = nd.win;
  const P = outH * outW;
  const { win, cand, ties, single, cnt } = w;
  const { val, err, sid } = w.inp;
  for (let plane = 0; plane < N * C; plane++) {
    const base = plane * H * W;
    for (let pos = 0; pos < P; pos++) {
      const o = plane * P + pos;
      let len = 0;
      for (let j = 0; j < kk; j++) {
        const off = map[pos * kk + j];
        if (off >= 0) win[len++] = base + off;
      }
      // (a): the candidates, every entry not certainly below the top one.
      const nc = candidates(win, len, val, err, cand);
      if (nc !== 1) {
        tiedWindow(w, o, nc, base, pos);
        continue;
      }
      // The common case: one entry certainly above all others (or alone in its window); the output is that computation.
      const top = cand[0];
      cnt.float++;
      ties[o] = [top];
      out.sid[o] = 2 * single.dense(sid[top]);
      out.val[o] = val[top];
      out.err[o] = err[top];
    }
  }
  w.interner.release();
  single.release();
  run.ties.set(k, ties);
  run.counters.set(k, cnt);
}

/** What the windows of one MaxPool node share while they are decided. */
interface WindowState {
  readonly run: RunContext;
  readonly nd: NodeOf<'maxpool'>;
  readonly inp: TState;
  readonly out: TState;
  readonly cnt: Counter;
  /** One list per window o = plane·P + pos (the placeholder keeps the array of lists packed). */
  readonly ties: number[][];
  readonly key: Int32Array;
  readonly interner: Interner;
  /** Window sid → tie pattern (positions inside the window) of windows decided exactly. */
  readonly patterns: Map<number, number[]>;
  readonly win: Int32Array;
  readonly cand: Int32Array;
  readonly single: SidCache;
}

function windowState(run: RunContext, nd: NodeOf<'maxpool'>, out: TState): WindowState {
  const [N, C] = run.g.tensors[nd.input].shape;
  const { outH, outW, kk } = nd.win;
  const inp = run.t[nd.input];
  return {
    run,
    nd,
    inp,
    out,
    cnt: newCounter(),
    ties: new Array<number[]>(N * C * outH * outW).fill(NO_TIES),
    key: new Int32Array(kk),
    interner: new Interner(kk * 64),
    patterns: new Map(),
    win: new Int32Array(kk),
    cand: new Int32Array(kk),
    single: new SidCache(inp.sid),
  };
}

/**
 * (a)/(b), the next most common case: the nc candidates are all exact and equal, or all the same
 * computation (constant background). Otherwise the general case.
 */
function tiedWindow(w: WindowState, o: number, nc: number, base: number, pos: number): void {
  const { cand, cnt, out } = w;
  const { val, err, sid } = w.inp;
  const c0 = cand[0];
  const cs0 = sid[c0];
  let sameSid = true;
  let sameExact = err[c0] === 0;
  let cbest = c0;
  for (let j = 1; j < nc; j++) {
    const i = cand[j];
    if (sid[i] !== cs0) sameSid = false;
    if (err[i] !== 0 || val[i] !== val[c0]) sameExact = false;
    if (err[i] < err[cbest]) cbest = i;
  }
  if (!sameSid && !sameExact) {
    generalWindow(w, o, base, pos);
    return;
  }
  if (sameExact) cnt.float++;
  else cnt.structural++;
  w.ties[o] = listOf(cand, nc);
  out.sid[o] = sameSid ? 2 * w.single.dense(cs0) : 2 * windowSid(w, base, pos) + 1;
  out.val[o] = val[cbest];
  out.err[o] = err[cbest];
}

/** Stages (a), (b) on classes of equal candidates, a tie pattern seen in the same window key, then (c). */
function generalWindow(w: WindowState, o: number, base: number, pos: number): void {
  const { kk, map } = w.nd.win;
  const { key, cnt, out } = w;
  const { val, err, sid } = w.inp;
  const idx: number[] = [];
  for (let j = 0; j < kk; j++) {
    const off = map[pos * kk + j];
    key[j] = off < 0 ? -1 : sid[base + off];
    if (off >= 0) idx.push(base + off);
  }
  const wsid = w.interner.intern(key, kk);
  let T = decideFloat(idx, val, err, sid, cnt, w.cand);
  if (!T) {
    const pattern = w.patterns.get(wsid);
    if (pattern) {
      T = pattern.map((j) => idx[j]);
      cnt.structural++;
    } else {
      T = decideExact(w.run, w.nd.input, idx, val, err, sid);
      w.patterns.set(
        wsid,
        T.map((i) => idx.indexOf(i)),
      );
      cnt.exact++;
    }
  }
  w.ties[o] = T;
  // Structure of the output: when every exactly tied entry is the same computation s, the
  // output *is* s (same value, same function of θ whichever entry is routed), so its id
  // depends on s alone (2·d(s)) whatever the losing entries were; the window key (used above
  // to reuse tie patterns) would needlessly tell apart [A,B,B,B] and [B,A,B,B] with A the max.
  // Different computations tied exactly keep the window-specific id 2·wsid + 1 (conservative).
  const s0 = sid[T[0]];
  let same = true;
  for (let j = 1; j < T.length; j++) if (sid[T[j]] !== s0) same = false;
  out.sid[o] = same ? 2 * w.single.dense(s0) : 2 * wsid + 1;
  // Output: the tied entry with the smallest bound.
  let best = T[0];
  for (const i of T) if (err[i] < err[best]) best = i;
  out.val[o] = val[best];
  out.err[o] = err[best];
}

/** Interned id of a window's key of input sids (−1 on padding). */
function windowSid(w: WindowState, base: number, pos: number): number {
  const { kk, map } = w.nd.win;
  const { key } = w;
  const sid = w.inp.sid;
  for (let j = 0; j < kk; j++) {
    const off = map[pos * kk + j];
    key[j] = off < 0 ? -1 : sid[base + off];
  }
  return w.interner.intern(key, kk);
}

/**
 * Stage (a) for one MaxPool window (flat input indices win[0..len), in window order): writes to
 * `cand` every entry not certainly below i* (the largest lower bound â − e, a heuristic choice:
 * rigour comes from the test, bounds.ts `certainlyGreater`, inlined here), in window order, and
 * returns how many. One candidate: it is the exact maximum, alone.
 */
function candidates(win: Int32Array, len: number, val: Float64Array, err: Float64Array, cand: Int32Array): number {
  let top = win[0];
  let topLo = val[top] - err[top];
  for (let j = 1; j < len; j++) {
    const i = win[j];
    const lo = val[i] - err[i];
    if (lo > topLo || Number.isNaN(topLo)) {
      top = i;
      topLo = lo;
    }
  }
  const tv = val[top];
  const te = err[top];
  let nc = 0;
  for (let j = 0; j < len; j++) {
    const i = win[j];
    const ei = err[i];
    // certainlyGreater(tv, te, val[i], ei)
    const greater = te === 0 && ei === 0 ? tv > val[i] : tv - val[i] > (te + ei) * SLACK + TINY;
    if (i === top || !greater) cand[nc++] = i;
  }
  return nc;
}

/** Stages (a) and (b) for one window: the tie set, or null when only exact values can tell. */
function decideFloat(
  idx: readonly number[],
  val: Float64Array,
  err: Float64Array,
  sid: Int32Array,
  cnt: Counter,
  cand: Int32Array,
): number[] | null {
  if (idx.length === 1) {
    cnt.float++;
    return [idx[0]];
  }
  const nc = floatCandidates(idx, val, err, cand);
  if (nc === 1) {
    cnt.float++;
    return [cand[0]];
  }
  // Fast path: every candidate has the same sid (identical computations), or all are exact and equal.
  const s0 = sid[cand[0]];
  let sameSid = true;
  let sameExact = err[cand[0]] === 0;
  for (let j = 1; j < nc; j++) {
    const i = cand[j];
    if (sid[i] !== s0) sameSid = false;
    if (err[i] !== 0 || val[i] !== val[cand[0]]) sameExact = false;
  }
  const list: number[] = [];
  for (let j = 0; j < nc; j++) list.push(cand[j]);
  if (sameExact || sameSid) {
    if (sameExact) cnt.float++;
    else cnt.structural++;
    return list;
  }
  return decideClasses(list, val, err, sid, cnt);
}

/** The candidates of a window given as an index list (candidates(), for the general case). */
function floatCandidates(idx: readonly number[], val: Float64Array, err: Float64Array, cand: Int32Array): number {
  // i*: the largest lower bound (a heuristic choice; rigour comes from certainlyGreater).
  let top = idx[0];
  let topLo = val[top] - err[top];
  for (let j = 1; j < idx.length; j++) {
    const i = idx[j];
    const lo = val[i] - err[i];
    if (lo > topLo || Number.isNaN(topLo)) {
      top = i;
      topLo = lo;
    }
  }
  const tv = val[top];
  const te = err[top];
  let nc = 0;
  for (let j = 0; j < idx.length; j++) {
    const i = idx[j];
    if (i === top || !certainlyGreater(tv, te, val[i], err[i])) cand[nc++] = i;
  }
  return nc;
}

/** Classes of candidates known to be exactly equal (same sid, or both exact with equal values), compared by their tightest member. */
function decideClasses(list: readonly number[], val: Float64Array, err: Float64Array, sid: Int32Array, cnt: Counter): number[] | null {
  const classes = equalClasses(list, val, err, sid);
  if (classes.length === 1) {
    if (classes[0].viaSid) cnt.structural++;
    else cnt.float++;
    return classes[0].members.sort((a, b) => a - b);
  }
  let best = classes[0];
  for (const cl of classes) if (val[cl.rep] - err[cl.rep] > val[best.rep] - err[best.rep]) best = cl;
  const left = classes.filter((cl) => cl === best || !certainlyGreater(val[best.rep], err[best.rep], val[cl.rep], err[cl.rep]));
  if (left.length === 1) {
    if (classes.some((cl) => cl.viaSid)) cnt.structural++;
    else cnt.float++;
    return left[0].members.sort((a, b) => a - b);
  }
  return null;
}

interface EqualClass {
  /** The member with the smallest bound. */
  rep: number;
  members: number[];
  sids: number[];
  exactVal: number | null;
  /** Some member joined through its sid alone (not an exact float value). */
  viaSid: boolean;
}

function equalClasses(cand: readonly number[], val: Float64Array, err: Float64Array, sid: Int32Array): EqualClass[] {
  const classes: EqualClass[] = [];
  for (const i of cand) {
    const exact = err[i] === 0;
    const cl = classes.find((c) => c.sids.includes(sid[i]) || (exact && c.exactVal !== null && c.exactVal === val[i]));
    if (!cl) {
      classes.push({ rep: i, members: [i], sids: [sid[i]], exactVal: exact ? val[i] : null, viaSid: false });
      continue;
    }
    if (cl.sids.includes(sid[i])) {
      if (!exact) cl.viaSid = true;
    } else cl.sids.push(sid[i]);
    cl.members.push(i);
    if (err[i] < err[cl.rep]) cl.rep = i;
    if (exact && cl.exactVal === null) cl.exactVal = val[i];
  }
  return classes;
}

/** Stage (c) for one window: exact values of one member per class of the remaining candidates. */
function decideExact(run: RunContext, t: number, idx: readonly number[], val: Float64Array, err: Float64Array, sid: Int32Array): number[] {
  // Recompute the candidate set (cheap) and its classes, then compare representatives exactly.
  let top = idx[0];
  for (const i of idx) if (val[i] - err[i] > val[top] - err[top]) top = i;
  const cand = idx.filter((i) => i === top || !certainlyGreater(val[top], err[top], val[i], err[i]));
  const classes = equalClasses(cand, val, err, sid);
  let maxV: Dy | null = null;
  let T: number[] = [];
  for (const cl of classes) {
    const v = run.exactAt(t, cl.rep);
    const c = maxV === null ? 1 : dyCmp(v, maxV);
    if (c > 0) {
      maxV = v;
      T = cl.members.slice();
    } else if (c === 0) T.push(...cl.members);
  }
  return T.sort((a, b) => a - b);
}
