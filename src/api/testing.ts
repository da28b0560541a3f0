/**
 * `adzone/testing`: assert from a test suite (vitest, node:test, jest) that an AD system's MaxPool
 * gradient is an admissible Jacobian on every generator; a failure shows the shrunk counterexample
 * with exact and rounded values and a `{ seed, path }` replay line.
 */
export {
  /** The error assert* throw: the failure message, with the report attached. */
  AdmissibilityError,
  /** The typed constraints object of every check (generators, numRuns, seed, path, precisions, jacobians, tieRule, …). */
  type AdmissibleConstraints,
  /** The shrunk failing point, its classification and replay coordinates. */
  type AdmissibleCounterexample,
  /** What a check found. */
  type AdmissibleReport,
  /** Throws AdmissibilityError unless every result on every generator (chains too) is admissible. */
  assertAdmissible,
  /** Throws AdmissibilityError unless every result on the lone-MaxPool generators is admissible. */
  assertMaxPool,
  /** assertAdmissible's non-throwing twin: resolves to the report. */
  checkAdmissible,
  /** assertMaxPool's non-throwing twin: resolves to the report. */
  checkMaxPool,
  /** Why a counterexample fails: 'defect', 'inconsistent' or 'error'. */
  type FailureKind,
  /** A Jacobian family member by name: 'first', 'last', 'minnorm', 'beta:N'. */
  type JacobianName,
  /** The typed array a kernel receives (Float32Array at 32 bits, Float64Array otherwise). */
  type KernelArray,
  /** The ids of the generators whose points are a lone MaxPool. */
  MAXPOOL_GENERATORS,
  /** Shapes and window geometry handed to a MaxPool kernel. */
  type MaxPoolGeometry,
  /** A MaxPool kernel under test. */
  type MaxPoolKernel,
  /** Wrap a MaxPool kernel (forward and backward over flat NCHW typed arrays) as an AdBackend. */
  maxPoolBackend,
  /** The replay line of a counterexample, as a failure message prints it. */
  replayLine,
  /** A backend's MaxPool rule at ties, or 'measure'. */
  type TieRuleChoice,
} from '../testing/index.ts';
