/**
 * result.json of a run (schema 'adzone/train' 1), built from the run's state: when the run ends, or
 * again from its final checkpoint when a kill came between that checkpoint and result.json.
 */
import { countParams } from '../models/index.ts';
import type { EpochLine, TrainResult } from '../schema/train.ts';
import type { RunContext } from './loop.ts';
import { elapsed } from './state.ts';

export function buildResult(ctx: RunContext, o: { readonly versions: Record<string, unknown>; readonly continued: boolean }): TrainResult {
  const { config, state: s, train, test, info, spec } = ctx;
  const epochs = s.metrics.filter((m): m is EpochLine => m.kind === 'epoch');
  return {
    schema: 'adzone/train',
    schemaVersion: 1,
    command: s.command,
    startedAt: s.startedAt,
    finishedAt: new Date().toISOString(),
    config,
    backend: config.backend,
    precision: config.precision,
    mode: config.mode,
    betaMode: config.betaMode,
    status: s.divergence ? 'diverged' : 'completed',
    divergence: s.divergence ? { ...s.divergence, continued: o.continued } : null,
    finalTestAcc: epochs.length ? epochs[epochs.length - 1].testAcc : null,
    bestTestAcc: s.best,
    epochs,
    timings: {
      totalSeconds: elapsed(s),
      trainSeconds: s.trainSecondsTotal,
      evalSeconds: s.evalSecondsTotal,
      meanStepMs: (1000 * s.trainSecondsTotal) / Math.max(1, s.step),
      steps: s.step,
      stepsPerEpoch: ctx.stepsPerEpoch,
      epochSeconds: epochs.map((e) => e.epochSeconds),
      sessions: s.sessions,
    },
    model: { name: spec.name, variant: spec.variant, params: countParams(spec) },
    optimizer: ctx.optimizer.name,
    data: {
      train: { n: train.n, files: train.source.files, sha256: train.source.sha256 },
      test: { n: test.n, files: test.source.files, sha256: test.source.sha256 },
      normalisation: `${info.normalisation.mean.join(',')} / ${info.normalisation.std.join(',')}`,
      augment: config.augment,
      ...(ctx.validation && config.validation ? { validation: { n: ctx.validation.n, ...config.validation } } : {}),
      chanceThreshold: ctx.chance,
    },
    versions: { ...o.versions, ...ctx.trainer.versions },
  };
}
