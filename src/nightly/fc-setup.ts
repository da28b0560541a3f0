/**
 * vitest setup file of the nightly's property run (src/nightly/vitest.config.ts): gives every
 * fast-check property that does not choose its own seed the night's seed (ADZONE_FC_SEED), and
 * every property that does not choose its own numRuns the default 100 × ADZONE_FC_RUNS_MULTIPLIER.
 * Properties with an explicit numRuns scale only when their file uses runs() (src/nightly/runs.ts).
 */
import fc from 'fast-check';
import { fcSeed, runs } from './runs.ts';

const seed = fcSeed();
fc.configureGlobal({ ...fc.readConfigureGlobal(), ...(seed !== undefined ? { seed } : {}), numRuns: runs(100) });
