/**
 * `adzone`: the library surface. What the command line does, a program calls here: the number
 * formats, the Jacobian family, the generators, the exact oracle, the engine, the classifier, the
 * backend contract and the stage functions (config in, result out). Subpaths: `adzone/generators`,
 * `adzone/oracle`, `adzone/testing` (test-suite helpers); `adzone/package.json`.
 *
 * Every name exported here carries its JSDoc line on its export specifier
 * (properties/package.test.ts checks it). A new stage is one line in the "Stages" block at the end.
 */

// Number formats (IEEE binary16/32/64, bfloat16, E4M3, E5M2) and rounding.
export {
  /** Every format by name: '16', '32', '64', 'bf16', 'e4m3', 'e5m2'. */
  FORMATS,
  /** IEEE binary16. */
  F16,
  /** IEEE binary32. */
  F32,
  /** IEEE binary64. */
  F64,
  /** bfloat16. */
  BF16,
  /** OCP FP8 E4M3 (no infinities; overflow is NaN). */
  E4M3,
  /** OCP FP8 E5M2. */
  E5M2,
  /** The precisions of the mission: '16', '32', '64'. */
  MISSION_PRECISIONS,
  /** The format with this name; throws listing the known ones. */
  formatByName,
  /** A binary floating-point format: significand bits, exponent range, subnormals, overflow rule. */
  type Format,
  /** A format's name, a key of FORMATS. */
  type PrecisionName,
  /** Round a double to a format (round to nearest, ties to even; the format's overflow rule). */
  round,
  /** The next value of a format above x. */
  nextUp,
  /** The next value of a format below x. */
  nextDown,
  /** The unit in the last place of x in a format. */
  ulp,
  /** Whether x is a value of a format. */
  isRepresentable,
  /** A format's unit roundoff u = 2^-p. */
  unitRoundoff,
  /** The exact decimal expansion of a double (every digit). */
  exactDecimal,
} from '../precision/index.ts';

// The MaxPool Jacobian family (first, last, minnorm, beta) and ReLU'(0).
export {
  /** A member of the MaxPool Jacobian family. */
  type MaxPoolJacobian,
  /** A MaxPool member with ReLU'(0) = α and the β mode: what one AD run uses. */
  type JacobianChoice,
  /** Where β acts: 'backward' (default) or the paper's 'mixed-forward'. */
  type BetaMode,
  /** The `first` member: all of a tie's gradient to its first index (PyTorch, TensorFlow, tfjs cpu). */
  FIRST,
  /** The `last` member: all of a tie's gradient to its last index (tfjs wasm). */
  LAST,
  /** The `minnorm` member: a tie's gradient split evenly. */
  MINNORM,
  /** The paper's β member: β·minnorm + (1−β)·first. */
  beta,
  /** A JacobianChoice from a member, α and β mode. */
  choice,
  /** A member's short name: 'first', 'last', 'minnorm', 'beta:10'. */
  jacobianName,
  /** Parse 'first' | 'last' | 'minnorm' | 'beta:N'. */
  parseJacobian,
  /** A member's exact weights over a tie of k entries. */
  tieWeights,
} from '../jacobians/index.ts';

// Evaluation points, gradients and routing: the vocabulary every backend and the oracle share.
export {
  /** An evaluation point: input, a chain of layers with parameters, and the cotangent. */
  type Problem,
  /** One layer of a Problem: conv2d, relu or maxpool. */
  type LayerSpec,
  /** A maxpool layer: kernel, stride, −∞ padding. */
  type MaxPoolSpec,
  /** A conv2d layer: output channels, kernel, stride, zero padding, bias. */
  type Conv2dSpec,
  /** A relu layer. */
  type ReluSpec,
  /** A conv2d layer's parameters. */
  type ConvParams,
  /** Gradients of L = ⟨cotangent, output⟩: per-layer parameters and the input. */
  type Gradients,
  /** Routing decisions of a forward pass: MaxPool tie sets and ReLU signs. */
  type Routing,
  /** The routing of one layer. */
  type LayerRouting,
  /** [rows, cols]. */
  type Pair,
  /** An NCHW shape. */
  type Shape,
  /** Check a Problem's sizes; returns every activation's shape. */
  validateProblem,
  /** The shapes of every activation of a Problem. */
  activationShapes,
  /** One layer's output shape. */
  layerOutputShape,
  /** The flat input indices of one MaxPool window. */
  windowIndices,
  /** The routing implied by a forward pass's values. */
  routingFromActivations,
  /** Thrown for an inconsistent Problem. */
  ProblemError,
} from '../problem/index.ts';

// The generators (also `adzone/generators`) and the exact oracle (also `adzone/oracle`).
export * from './generators.ts';
export * from './oracle.ts';

// The engine: reverse-mode AD in any format, one Problem at a time.
export {
  /** Run a Problem through the engine in a format: output, activations, routing, gradients. */
  runChain,
  /** runChain's options: format, accumulation, Jacobian, underflow flag. */
  type EngineOptions,
  /** runChain's result. */
  type EngineResult,
  /** 'strict' (every operation rounds to p) or 'wide' (accumulate wider, round each op's output). */
  type Accumulate,
} from '../engine/index.ts';

// AD systems under test: the contract, the engine and tfjs behind it (tfjs is an optional peer).
export type {
  /** An AD system under test: a Problem in, the gradient and the forward values out. */
  AdBackend,
  /** What a backend returns for one Problem. */
  BackendResult,
  /** The options of one backend run: precision, accumulation, Jacobian. */
  BackendRunOptions,
  /** A backend that cannot run here, with the one line saying why. */
  UnavailableBackend,
} from '../backends/types.ts';
export {
  /** The ids loadBackend knows: engine, tfjs-cpu, tfjs-wasm, tfjs-node. */
  BACKEND_IDS,
  /** One of BACKEND_IDS. */
  type BackendId,
  /** Load one backend by id (tfjs lazily; a missing optional peer gives an UnavailableBackend). */
  loadBackend,
  /** Load several backends, log one line for each that cannot run, and measure each framework's tie rule. */
  loadBackends,
  /** What loadBackends returns. */
  type LoadedBackends,
  /** Whether loadBackend's result is an UnavailableBackend. */
  isUnavailable,
} from '../backends/registry.ts';
export {
  /** adzone's engine as an AdBackend (any format, any Jacobian, routing exposed). */
  engineBackend,
} from '../backends/engine.ts';
export {
  /** Which MaxPool rule a backend applies at ties (first, last, minnorm), measured window by window, misrouted windows reported. */
  measureTieRuleOf,
  /** measureTieRuleOf's report. */
  type TieRuleReport,
} from '../backends/tie_rule.ts';

// The classifier: the zone of one evaluation point, exactly.
export {
  /** Classify one Problem for every configured backend and precision. */
  classifyPoint,
  /** classifyPoint's configuration: precisions, family, oracle, backends, tie rules. */
  type ClassifyConfig,
  /** classifyPoint's result: bifurcation, real ties, one Classification per backend and precision. */
  type PointClassification,
  /** One backend's result at one precision: zone, cause, findings, value checks. */
  type Classification,
  /** One routing unit that explains a classification, with exact and rounded values. */
  type Finding,
  /** One entry of a finding: index, exact value, rounded value. */
  type EntryView,
  /** A value check against the rigorous rounding bound. */
  type ValueCheck,
  /** The real ties of a point, harmful or not. */
  type RealTieSummary,
} from '../zones/classify.ts';
export type {
  /** regular, bifurcation, compensation, nonfinite, defect. */
  Zone,
  /** Why a compensation happened: 'tie' or 'flip'. */
  Cause,
} from '../zones/types.ts';
export {
  /** A zone with its cause, the unit reports count ('compensation:tie', …). */
  type ZoneClass,
  /** Every ZoneClass, in report order. */
  ZONE_CLASSES,
  /** The ZoneClass of a classification. */
  zoneClass,
  /** The seed a generator draws from in a run with `seed`. */
  generatorSeed,
} from '../zones/verify.ts';

// Errors a stage throws for a known kind of trouble.
export {
  /** A bad field of a stage's config, named in the config's own words. */
  ConfigError,
  /** Unusable input or environment: a missing or corrupt file, an output that cannot be written. */
  InputError,
} from '../util/errors.ts';

// Test-suite helpers (also `adzone/testing`).
export * from './testing.ts';
export * from './backends/torch.ts';

// Stages: typed functions, config in, result out (docs/DEVELOPING.md). One line per stage; their types below.
export {
  /** The verify stage (`adzone verify`): config in, VerifyRun out; worker threads, journal and resume, shrink budget. */ verify,
} from '../zones/verify.ts';
export {
  /** The replay stage (`adzone replay`): re-create one case from generator, seed and path, and classify it. */ replay,
} from '../zones/replay.ts';
export {
  /** The verify sweep in this thread on backend objects you hold: zone counts over the generators' draws, minimal counterexamples. */ runVerify,
} from '../zones/verify.ts';
export { /** Re-create a case from its generator, seed and fast-check path. */ replayCase } from '../zones/verify.ts';
export { /** Classify one Problem on one backend at one precision. */ classifyOne } from '../zones/verify.ts';
export {
  /** The regression gate: a report folder against a baseline under its thresholds (verdict, regressions, stages left out). */ gate,
} from '../gate/index.ts';
export {
  /** The report: the HTML page, Markdown summary and JUnit XML of result folders, led by their verdict. */ report,
} from '../report/index.ts';

export {
  /** The network-zones stage (`adzone zones`): zones of a whole network on real mini-batches, the paper's estimator against the exact classification. */ networkZones,
} from '../zones/network/index.ts';
export {
  /** The bench stage (`adzone bench`): training-step speed, exact classification cost, peak memory and verify wall times, each with its target. */ runBench,
} from '../bench/run.ts';
export {
  /** The nightly stage (`adzone nightly`): the whole check in one time-budgeted job, into one folder (plan, results, reports, gate). */ nightly,
} from '../nightly/index.ts';
export type {
  /** networkZones' config: model, dataset, batches, and optionally precisions, seed, batch size, width, batch norm, stem, accumulation, split. */
  NetworkZonesConfig,
  /** What networkZones returns: zones.json's content, per precision. */
  ZonesReport,
} from '../zones/network/index.ts';
export type {
  /** runBench's config: the groups to measure, quick mode, thread count, Python, version and command recorded. */
  BenchConfig,
  /** runBench's result: the rows (each with its target), notes, failed rows, and results.json's object. */
  BenchResults,
} from '../bench/run.ts';
export type {
  /** nightly's config: budget, output folder, seed, plan file, stages, baseline, dry run (defaults in src/nightly/config.ts). */
  NightlyConfig,
  /** What nightly returns: the resolved config, the plan, nightly.json's content and the files written. */
  NightlyResult,
} from '../nightly/index.ts';
export type {
  /** gate's config: the baseline and report folders, the thresholds file, stages declared skipped. */
  GateConfig,
  /** gate's result: the verdict ('pass', 'partial', 'regression'), the regressions, notes and stages left out. */
  GateResult,
} from '../gate/index.ts';
export type {
  /** report's config: the input folders, title, --fail-on classes, an optional gate baseline. */
  ReportConfig,
  /** report's result: the three documents, the verdict they lead with and the exit code. */
  ReportResult,
} from '../report/index.ts';
export type {
  /** verify's config: every field optional, defaults in VERIFY_CONFIG_DEFAULTS. */
  VerifyConfig,
  /** What verify returns: the header, the result (table, real ties, counterexamples, timing), backend versions. */
  VerifyRun,
  /** What verify reports to onProgress: draws and shrinks done, and one ETA over both. */
  VerifyProgress,
  /** runVerify's config. */
  VerifyOptions,
  /** runVerify's result: the zone table, real-tie totals, minimal counterexamples. */
  VerifyResult,
  /** One minimal counterexample of runVerify, with its seed and path. */
  Counterexample,
} from '../zones/verify.ts';
export {
  /** Train one network into a folder (or resume it, or return it when it has ended); progress, log lines and epoch ends through hooks, and onEpoch may stop it. */
  trainRun,
} from '../train/run.ts';
export {
  /** Read a grid file and pick the cells and the folder of this process's shard (i/n, or 'auto' from a job array). */ planAblation,
} from '../train/ablate/run.ts';
export {
  /** Train a plan's cells into its folder, resumably; ablate.json and ablate.md after each. */ runAblation,
} from '../train/ablate/run.ts';
export {
  /** Join the finished runs of ablation folders (slices of one grid) into one table. */ mergeAblations,
} from '../train/ablate/merge.ts';
export {
  /** Search the learning rate of a training config (trials on a validation split carved from train, successive halving), then train the lr chosen; resumable. */ tuneLr,
} from '../train/tune/run.ts';

export type {
  /** trainRun's config: the run's options (defaults in src/train/config.ts), its folder, resume and checkpoints. */
  TrainRunConfig,
  /** trainRun's hooks: onStep, onStatus, log, onEpoch (return 'stop' to end the run after that epoch), crashAt. */
  TrainHooks,
  /** trainRun's outcome: completed or diverged with its result, or stopped by onEpoch. */
  TrainOutcome,
} from '../train/run.ts';
export type {
  /** planAblation's config: the grid, the folder, the shard. */
  AblationConfig,
  /** What planAblation returns and runAblation takes. */
  AblationPlan,
  /** runAblation's hooks: log lines, each run's hooks. */
  AblationHooks,
  /** runAblation's result: runs made, resumed, skipped, left to other processes; the table's files. */
  AblationSummary,
} from '../train/ablate/run.ts';
export type {
  /** mergeAblations' config: the folders to join, the output folder. */
  MergeConfig,
} from '../train/ablate/merge.ts';
export type {
  /** replay's config: generator, seed (signed or unsigned 32-bit), path, and where to classify. */
  ReplayConfig,
  /** What replay returns: the case, its classification and class, the seed in its printed form. */
  ReplayResult,
} from '../zones/replay.ts';
export {
  /** verify's defaults, all in one place (the main job). */
  VERIFY_CONFIG_DEFAULTS,
} from '../zones/verify.ts';
export {
  /** The words `--fail-on` takes (defect, inconsistent, nonfinite, no-forward, bifurcation, compensation, …). */
  FAIL_ON,
  /** The (generator, backend, precision) cells of a verify table that fail a list of FAIL_ON words. */
  failingCells,
  /** A failing cell, as failingCells lists it. */
  type FailingCell,
  /** One word of FAIL_ON. */
  type FailOn,
} from '../zones/failOn.ts';
export type {
  /** tuneLr's config: the runs' options without lr, the search's settings (defaults in src/train/tune/config.ts), the folder. */
  TuneConfig,
  /** tuneLr's hooks: log lines, each run's hooks, crashAt. */
  TuneHooks,
  /** tuneLr's outcome: done with tune.json's record and the final run, or interrupted. */
  TuneOutcome,
} from '../train/tune/run.ts';
