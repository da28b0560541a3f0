import type { Gradients, Problem, Routing } from '../problem/index.ts';
import type { JacobianChoice } from '../jacobians/index.ts';
import type { Accumulate } from '../engine/types.ts';

export interface BackendRunOptions {
  /** Precision name: '16' | '32' | '64' (and the other formats for the engine). */
  readonly precision: string;
  readonly accumulate: Accumulate;
  /** The Jacobian to use; backends with a fixed Jacobian (frameworks) ignore it. */
  readonly jacobian: JacobianChoice;
  /** Ask for the IEEE underflow flag (backends that can keep it, the engine, report it in BackendResult.underflow). */
  readonly checkUnderflow?: boolean;
}

export interface BackendResult {
  readonly output: readonly number[];
  readonly grads: Gradients<number>;
  /** Routing decisions, when the backend can expose them (the engine can, tfjs cannot). */
  readonly routing?: Routing;
  /** Activations in precision p ([0] the rounded input, [i+1] layer i's output), when the backend exposes them. */
  readonly activations?: readonly (readonly number[])[];
  /** Whether the computation underflowed (IEEE flag), when the backend can tell (the engine can). */
  readonly underflow?: boolean;
}

/** An AD system under test (docs/DESIGN.md §5 `backends`). */
export interface AdBackend {
  /** 'engine' | 'tfjs-cpu' | 'tfjs-wasm' | 'tfjs-node'. */
  readonly id: string;
  /** One line for reports: what it is, with versions. */
  readonly description: string;
  /** Precisions it computes in natively. */
  readonly precisions: readonly string[];
  /** true when the framework fixes the MaxPool Jacobian itself (its rule at ties is measured, not chosen). */
  readonly fixedJacobian: boolean;
  /** Versions of the software that produced the result (recorded in every report). */
  readonly versions: Readonly<Record<string, string>>;
  run(problem: Problem, opts: BackendRunOptions): Promise<BackendResult>;
}

/** A backend that could not be loaded, with the one line that says why. */
export interface UnavailableBackend {
  readonly id: string;
  readonly unavailable: string;
}
