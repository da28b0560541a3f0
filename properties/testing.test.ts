/**
 * The test-suite helpers of src/testing (the `adzone/testing` entry point), used as a kernel author
 * uses them: hand-written MaxPool kernels (properties/support/maxpool-kernels.ts) through
 * maxPoolBackend. A correct `first` or `last` backward passes; the seeded bug of tfjs-wasm's
 * MaxPoolGrad (a running maximum that starts at 2^-126) is caught, its message shows the shrunk
 * point exactly and the replay line, and the replay line re-creates that point.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { engineBackend } from '../src/backends/engine.ts';
import { isUnavailable, loadBackend } from '../src/backends/registry.ts';
import { GENERATORS, generatorById } from '../src/generators/index.ts';
import {
  AdmissibilityError,
  assertMaxPool,
  checkAdmissible,
  checkMaxPool,
  MAXPOOL_GENERATORS,
  type MaxPoolKernel,
  maxPoolBackend,
} from '../src/testing/index.ts';
import { ConfigError } from '../src/util/errors.ts';
import { firstMaxPool, fltMinMaxPool, lastMaxPool } from './support/maxpool-kernels.ts';

const SEED = 20260107;

describe('checkMaxPool on correct kernels', () => {
  for (const [kernel, rule] of [
    [firstMaxPool, 'first'],
    [lastMaxPool, 'last'],
  ] as const) {
    it(`${kernel.id}: admissible on every lone-MaxPool generator, tie rule measured as ${rule}`, async () => {
      const r = await assertMaxPool(maxPoolBackend(kernel), { seed: SEED, numRuns: 40 });
      expect(r.failed).toBe(false);
      expect(r.tieRule.rule).toBe(rule);
      expect(r.generators).toEqual(MAXPOOL_GENERATORS);
      expect(r.draws).toBe(40 * MAXPOOL_GENERATORS.length);
      expect(r.message).toMatch(new RegExp(`admissible on ${r.draws} draws .* MaxPool ties → ${rule}`));
    });
  }
});

describe('the seeded bug: a running maximum that starts at 2^-126', () => {
  const backend = maxPoolBackend(fltMinMaxPool);

  it('is caught, with the shrunk point exact and rounded and a replay line', async () => {
    const r = await checkMaxPool(backend, { seed: SEED });
    const cx = r.counterexample;
    expect(r.failed).toBe(true);
    expect(cx?.kind).toBe('defect');
    if (!cx) return;
    // The bug lives in windows whose maximum is below 2^-126: the shrunk point has one.
    expect(Math.min(...cx.case.problem.input.data)).toBeLessThan(2 ** -126);
    expect(r.message).toContain(`adzone: ${fltMinMaxPool.id} is not admissible: defect on generator ${cx.generator} at 32 bits`);
    expect(r.message).toContain('input (exact | in binary32):');
    expect(r.message).toMatch(/input gradient, exact AD of last along the exact routing \(exact \| got\):\n(.*\n)*.*← differs/);
    expect(r.message).toContain(
      `Replay: await assertMaxPool(backend, { generators: ["${cx.generator}"], seed: ${SEED}, path: "${cx.path}", precisions: ["32"] })`,
    );
    // The measured tie rule reports the misrouted windows too.
    expect(r.tieRule.evidence).toMatch(/DEFECT: \d+ windows/);

    // The replay line re-creates exactly that point, without searching.
    const again = await checkMaxPool(backend, { generators: [cx.generator], seed: SEED, path: cx.path, precisions: ['32'] });
    expect(again.draws).toBe(1);
    expect(again.counterexample?.case.problem).toEqual(cx.case.problem);
    expect(again.counterexample?.kind).toBe('defect');
  });

  it('assertMaxPool throws AdmissibilityError with that message and the report', async () => {
    const err = await assertMaxPool(backend, { seed: SEED, numRuns: 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdmissibilityError);
    const e = err as AdmissibilityError;
    expect(e.message).toBe(e.report.message);
    expect(e.message).toMatch(/^Replay: await assertMaxPool\(backend, \{ generators: \["[a-z0-9-]+"\], seed: \d+, path: "[\d:]+"/m);
  });

  it('is caught on the real tfjs-wasm kernel it copies (tfjs-backend-wasm 4.22)', async (ctx) => {
    const wasm = await loadBackend('tfjs-wasm');
    if (isUnavailable(wasm)) {
      console.log(`skipped: ${wasm.unavailable}`);
      ctx.skip();
      return;
    }
    const r = await checkMaxPool(wasm, { seed: SEED, numRuns: 50 });
    expect(r.tieRule.rule).toBe('last');
    expect(r.counterexample?.kind).toBe('defect');
  });
});

describe('what the check holds a backend to', () => {
  it('a declared tie rule the kernel does not follow is a defect where rounding makes ties', async () => {
    const r = await checkMaxPool(maxPoolBackend(lastMaxPool), { seed: SEED, tieRule: 'first', generators: ['round-tie-32'] });
    expect(r.tieRule).toEqual({ rule: 'first', evidence: 'declared (tieRule)' });
    expect(r.counterexample?.kind).toBe('defect');
  });

  it('a kernel that follows no rule at ties fails before drawing, naming the fix', async () => {
    let calls = 0;
    // first on every other call, last on the rest: a tie rule adzone cannot name.
    const flaky: MaxPoolKernel = {
      ...lastMaxPool,
      id: 'alternating',
      backward: (x, dy, g) => (calls++ % 2 ? lastMaxPool : firstMaxPool).backward(x, dy, g),
    };
    const r = await checkMaxPool(maxPoolBackend(flaky), { seed: SEED });
    expect(r.failed).toBe(true);
    expect(r.draws).toBe(0);
    expect(r.message).toMatch(
      /alternating follows none of first, last, minnorm at ties .*declare the rule it implements with \{ tieRule \}/,
    );
  });

  it('a backend that throws fails with what it threw, the point and the replay line', async () => {
    const throwing: MaxPoolKernel = {
      ...lastMaxPool,
      id: 'throws-on-padding',
      backward: (x, dy, g) => {
        if (g.padding[0] + g.padding[1] > 0) throw new Error('padding not implemented');
        return lastMaxPool.backward(x, dy, g);
      },
    };
    const r = await checkMaxPool(maxPoolBackend(throwing), { seed: SEED, tieRule: 'last' });
    expect(r.counterexample?.kind).toBe('error');
    expect(r.message).toMatch(/^adzone: throws-on-padding failed on generator [a-z0-9-]+ at 32 bits: padding not implemented$/m);
    expect(r.message).toMatch(/maxpool \d×\d stride \d×\d padding (1×\d|\d×1)/);
    expect(r.message).toMatch(/^Replay: /m);
  });

  it('maxPoolBackend refuses chains in one line; the engine passes every generator', async () => {
    const chain = await checkAdmissible(maxPoolBackend(lastMaxPool), { seed: SEED, generators: ['generic-chain'], tieRule: 'last' });
    expect(chain.counterexample?.kind).toBe('error');
    expect(chain.counterexample?.error).toMatch(/runs lone MaxPool problems only, got conv2d → relu → maxpool/);
    const engine = await checkAdmissible(engineBackend, { seed: SEED, numRuns: 8, precisions: ['16', '32', '64'] });
    expect(engine.failed).toBe(false);
    expect(engine.generators).toEqual(GENERATORS.map((g) => g.id));
  });

  it('bad constraints are ConfigErrors naming the field', async () => {
    const b = maxPoolBackend(lastMaxPool);
    const field = (p: Promise<unknown>) =>
      p.then(
        () => 'resolved',
        (e: unknown) => (e instanceof ConfigError ? e.field : String(e)),
      );
    expect(await field(checkMaxPool(b, { generators: ['near-ties'] }))).toBe('generators');
    expect(await field(checkMaxPool(b, { generators: [] }))).toBe('generators');
    expect(await field(checkMaxPool(b, { path: '1:2', generators: ['near-tie'] }))).toBe('path');
    expect(await field(checkMaxPool(b, { path: '1:2', seed: 1 }))).toBe('path');
    expect(await field(checkMaxPool(b, { path: 'x', seed: 1, generators: ['near-tie'] }))).toBe('path');
    expect(await field(checkMaxPool(b, { precisions: ['16'] }))).toBe('precisions');
    expect(await field(checkMaxPool(b, { numRuns: 0 }))).toBe('numRuns');
    expect(await field(checkMaxPool(b, { jacobians: ['first'] }))).toBe('jacobians');
    expect(await field(checkMaxPool(b, { jacobians: ['first', 'beta:-1' as 'beta:1'] }))).toBe('jacobians');
    expect(await field(checkMaxPool(b, { reluAlphas: [2] }))).toBe('reluAlphas');
  });
});

describe('MAXPOOL_GENERATORS', () => {
  it('lists exactly the generators whose draws are a lone MaxPool', () => {
    const lone = GENERATORS.filter((g) =>
      fc
        .sample(generatorById(g.id).arbitrary, { seed: 5, numRuns: 25 })
        .every((c) => c.problem.layers.length === 1 && c.problem.layers[0].kind === 'maxpool'),
    ).map((g) => g.id);
    expect([...MAXPOOL_GENERATORS]).toEqual(lone);
  });
});
