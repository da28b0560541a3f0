/**
 * Replays the counterexample corpus (fixtures/counterexamples/): every stored case must still get
 * the class it was found with, and its generator, seed and path must still regenerate it.
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { readCorpus } from '../src/zones/corpus.ts';
import { classifyOne, replayCase, zoneClass } from '../src/zones/verify.ts';
import { loadBackend, measureTieRule } from '../src/backends/registry.ts';
import { generatorById } from '../src/generators/index.ts';
import { decimalOracle } from '../src/oracle/index.ts';
import type { AdBackend } from '../src/backends/types.ts';
import type { MaxPoolJacobian } from '../src/jacobians/index.ts';

const dir = fileURLToPath(new URL('../fixtures/counterexamples/', import.meta.url));
const corpus = readCorpus(dir);
const backends = new Map<string, { b: AdBackend; rule?: MaxPoolJacobian } | string>();

async function backend(id: string) {
  if (!backends.has(id)) {
    const b = await loadBackend(id);
    if ('unavailable' in b) backends.set(id, b.unavailable);
    else {
      let rule: MaxPoolJacobian | undefined;
      if (b.fixedJacobian) {
        const m = await measureTieRule(id);
        if (m.rule === 'first' || m.rule === 'last' || m.rule === 'minnorm') rule = { kind: m.rule };
      }
      backends.set(id, { b, rule });
    }
  }
  return backends.get(id)!;
}

describe('counterexample corpus', () => {
  it('is not empty', () => {
    expect(corpus.length).toBeGreaterThan(0);
  });

  it('writes every seed in the one printed form, unsigned (what verify.md prints and replay reads)', () => {
    expect(corpus.filter((e) => !(Number.isInteger(e.seed) && e.seed >= 0 && e.seed < 2 ** 32)).map((e) => `${e.id}: ${e.seed}`)).toEqual(
      [],
    );
  });

  for (const e of corpus) {
    it(`${e.generator} on ${e.backend} at ${e.precision} bits stays ${e.expected} (${e.id})`, async (ctx) => {
      const be = await backend(e.backend);
      if (typeof be === 'string') {
        ctx.skip(`${e.backend}: ${be}`);
        return;
      }
      const cls = await classifyOne(
        {
          precisions: [e.precision],
          family: e.family,
          reluAlphas: e.reluAlphas,
          accumulate: e.accumulate,
          betaMode: 'backward',
          backends: [be.b],
          oracle: decimalOracle,
          tieRules: be.rule ? { [e.backend]: be.rule } : {},
        },
        be.b,
        e.precision,
        e.problem,
      );
      expect(zoneClass(cls)).toBe(e.expected);
    });

    it(`${e.id}: generator ${e.generator}, seed ${e.seed}, path ${e.path} regenerates the stored case`, () => {
      const c = replayCase(generatorById(e.generator), e.seed, e.path);
      expect(c.problem).toEqual(e.problem);
    });
  }
});
