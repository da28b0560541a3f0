/**
 * The replay stage behind `adzone replay`: re-create one case from its generator, seed and
 * fast-check path (as verify.md prints them) and classify it on one backend at one precision.
 * replay(config) → ReplayResult; a bad field is a ConfigError in the config's words, a backend
 * that cannot run here an InputError.
 */
import { BACKEND_IDS, type BackendOptions, type LoadedBackends, loadBackends } from '../backends/registry.ts';
import type { Accumulate } from '../engine/types.ts';
import { type Case, GENERATORS, generatorById } from '../generators/index.ts';
import type { BetaMode } from '../jacobians/index.ts';
import { decimalOracle } from '../oracle/index.ts';
import { FORMATS } from '../precision/index.ts';
import type { ZoneClass } from '../problem/index.ts';
import { ConfigError, InputError } from '../util/errors.ts';
import type { Classification } from './classify.ts';
import { classifyOne, replayCase, zoneClass } from './verify.ts';
import { checkSeed, resolveVerifyConfig } from './verifyConfig.ts';

export interface ReplayConfig {
  readonly generator: string;
  /** The fast-check seed printed beside the counterexample, signed or unsigned 32-bit. */
  readonly seed: number;
  /** fast-check's counterexample path, e.g. '12:0:3'. */
  readonly path: string;
  /** Default '16'. */
  readonly precision?: string;
  /** Default 'engine'. */
  readonly backend?: string;
  /** As for verify (defaults there). */
  readonly jacobians?: readonly string[];
  readonly reluAlphas?: readonly number[];
  readonly accumulate?: Accumulate;
  readonly betaMode?: BetaMode;
  readonly backendOptions?: BackendOptions;
  readonly log?: (line: string) => void;
}

export const REPLAY_DEFAULTS = { precision: '16', backend: 'engine' } as const;

export interface ReplayResult {
  readonly generator: string;
  /** The seed in its one printed form (unsigned). */
  readonly seed: number;
  readonly path: string;
  readonly case: Case;
  readonly classification: Classification;
  readonly class: ZoneClass;
}

/**
 * A backend with its measured tie rule, once per process and options: replaying many cases (a
 * test running every line of a report) measures the rule once. A failed load is not kept.
 */
const loadedOnce = new Map<string, Promise<LoadedBackends>>();
function loadOnce(backendId: string, config: ReplayConfig): Promise<LoadedBackends> {
  const key = `${backendId} ${JSON.stringify(config.backendOptions ?? {})}`;
  let p = loadedOnce.get(key);
  if (!p) {
    p = loadBackends([backendId], config.log ?? (() => {}), config.backendOptions ?? {});
    loadedOnce.set(key, p);
    p.catch(() => loadedOnce.delete(key));
  }
  return p;
}

/** Re-create and classify one case (see the file comment). */
export async function replay(config: ReplayConfig): Promise<ReplayResult> {
  if (!GENERATORS.some((g) => g.id === config.generator))
    throw new ConfigError(
      'generator',
      `unknown generator '${config.generator}'; expected one of ${GENERATORS.map((g) => g.id).join(', ')}`,
    );
  const seed = checkSeed('seed', config.seed);
  if (!/^\d+(:\d+)*$/.test(config.path))
    throw new ConfigError('path', `\`path\` must look like 12:0:3 (fast-check's counterexample path), got '${config.path}'`);
  checkPathBounds(config.path);
  const precision = config.precision ?? REPLAY_DEFAULTS.precision;
  if (!(precision in FORMATS))
    throw new ConfigError('precision', `unknown precision '${precision}'; expected one of ${Object.keys(FORMATS).join(', ')}`);
  const backendId = config.backend ?? REPLAY_DEFAULTS.backend;
  if (!(BACKEND_IDS as readonly string[]).includes(backendId))
    throw new ConfigError('backend', `unknown backend '${backendId}'; expected one of ${BACKEND_IDS.join(', ')}`);
  // The family, α, accumulation and β mode are checked as verify checks them.
  const v = resolveVerifyConfig({
    jacobians: config.jacobians,
    reluAlphas: config.reluAlphas,
    accumulate: config.accumulate,
    betaMode: config.betaMode,
  });
  const loaded = await loadOnce(backendId, config);
  const backend = loaded.backends[0];
  if (!backend) throw new InputError(`backend ${backendId} cannot run here: ${loaded.unavailable[0]?.unavailable ?? 'unknown reason'}`);
  if (!backend.precisions.includes(precision))
    throw new ConfigError('precision', `${backendId} runs at ${backend.precisions.join(', ')} bits, not ${precision}`);
  const c = replayCase(generatorById(config.generator), seed, config.path);
  const classification = await classifyOne(
    { ...v, precisions: [precision], backends: [backend], oracle: decimalOracle, tieRules: loaded.tieRules },
    backend,
    precision,
    c.problem,
  );
  return { generator: config.generator, seed, path: config.path, case: c, classification, class: zoneClass(classification) };
}

/**
 * fast-check walks a path step by step (the run index, then one shrink index a step), so a huge
 * segment would walk for ever: a path verify prints has a run index below the most draws verify
 * takes (MAX_SAMPLES) and shrink indices far below MAX_SHRINK_INDEX.
 */
const MAX_SAMPLES = 1_000_000;
const MAX_SHRINK_INDEX = 100_000;

function checkPathBounds(path: string): void {
  const parts = path.split(':').map(Number);
  const bad = parts.findIndex((n, i) => !Number.isSafeInteger(n) || n >= (i === 0 ? MAX_SAMPLES : MAX_SHRINK_INDEX));
  if (bad < 0) return;
  const what =
    bad === 0 ? `the run index (its first number) must be below ${MAX_SAMPLES}` : `shrink index ${bad} must be below ${MAX_SHRINK_INDEX}`;
  throw new ConfigError(
    'path',
    `\`path\` is not one verify prints: ${what}, got '${parts[bad] === undefined ? '' : path.split(':')[bad]}'`,
  );
}
