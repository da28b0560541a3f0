/**
 * The vitest configuration of `adzone nightly`'s property run: the project's own (vitest.config.ts)
 * plus a setup file giving fast-check the night's seed (./fc-setup.ts) and test timeouts scaled by
 * the run multiplier, since a property with N times the runs takes about N times as long.
 */
import { mergeConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';
import base from '../../vitest.config.ts';
import { runsMultiplier } from './runs.ts';

const m = Math.max(1, runsMultiplier());
const timeout = Math.round(120_000 * m);

export default mergeConfig(base, {
  test: {
    setupFiles: [fileURLToPath(new URL('./fc-setup.ts', import.meta.url))],
    testTimeout: timeout,
    hookTimeout: timeout,
    // the nightly runs itself; its own test would start another nightly
    exclude: ['**/node_modules/**', 'properties/nightly.test.ts'],
  },
});
