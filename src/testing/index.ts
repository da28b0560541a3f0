/**
 * Helpers for users' test suites: assert that an AD system's MaxPool gradient is an admissible
 * Jacobian on every generator, from vitest, node:test or jest (nothing here imports a runner: a
 * failure is a thrown AdmissibilityError, a pass a resolved report).
 *
 *   import { assertMaxPool, maxPoolBackend } from 'adzone/testing';
 *   test('my MaxPool backward is admissible', () => assertMaxPool(maxPoolBackend(myKernel), { seed: 1 }));
 */
export {
  AdmissibilityError,
  type AdmissibleConstraints,
  type AdmissibleCounterexample,
  type AdmissibleReport,
  assertAdmissible,
  assertMaxPool,
  checkAdmissible,
  checkMaxPool,
  type FailureKind,
  type JacobianName,
  MAXPOOL_GENERATORS,
  type TieRuleChoice,
} from './check.ts';
export { type KernelArray, type MaxPoolGeometry, type MaxPoolKernel, maxPoolBackend } from './maxpool.ts';
export { replayLine } from './message.ts';
