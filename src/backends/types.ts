/**
 * The device under test: what adzone asks of an AD system, and what it gets back.
 *
 * Given a problem (src/problem: a chain of conv2d / relu / maxpool layers, their parameters, an
 * input and a cotangent, every number a double taken at its exact value) and a precision, a backend
 *   1. rounds the input, the parameters and the cotangent to the precision (nearest, ties to even);
 *   2. runs the chain forward with its own operators, keeping the output of every layer;
 *   3. differentiates L = ⟨cotangent, output⟩ with its own AD, with respect to the input and every
 *      parameter;
 * and returns the gradient and the forward values of every layer, each rounded to the precision
 * (BackendResult: `grads`, `output`, `activations`).
 *
 * The forward values are part of the contract, not a detail: the classifier reads the routing a
 * backend followed (which entry won each MaxPool window, the sign of each ReLU input) off the
 * values *it* computed, and that routing is what separates a rounding-made tie (compensation) from
 * a gradient that no admissible Jacobian explains (a defect). A backend that cannot return them
 * says so (`forwardValues: false`); every verdict made for it is then marked
 * `verdictBasis: 'no-forward'` (src/zones/classify.ts), because without them a routing defect is
 * indistinguishable from rounding. A backend that declares `forwardValues: true` and returns a result
 * without them breaks the contract and the classification refuses it.
 *
 * A backend in another process or language speaks the AD protocol (./protocol/, published as
 * schemas/protocol.schema.json); the PyTorch bridge (bridges/torch/) is one.
 */

import type { Accumulate } from '../engine/types.ts';
import type { JacobianChoice } from '../jacobians/index.ts';
import type { Gradients, Problem, Routing } from '../problem/index.ts';

export interface BackendRunOptions {
  /** Precision name: '16' | '32' | '64' | 'bf16' (and the 8-bit formats for the engine). */
  readonly precision: string;
  readonly accumulate: Accumulate;
  /** The Jacobian to use; backends with a fixed Jacobian (frameworks) ignore it. */
  readonly jacobian: JacobianChoice;
  /** Ask for the IEEE underflow flag (backends that can keep it, the engine, report it in BackendResult.underflow). */
  readonly checkUnderflow?: boolean;
}

export interface BackendResult {
  /** The last layer's output, NCHW (empty when the backend has no forward values). */
  readonly output: readonly number[];
  /** dL/d(input) and dL/d(every parameter), in the problem's layouts. */
  readonly grads: Gradients<number>;
  /** Routing decisions, when the backend can expose them (the engine can, frameworks cannot). */
  readonly routing?: Routing;
  /**
   * Forward values in precision p, from the same forward pass the gradient differentiates:
   * [0] the rounded input, [i+1] layer i's output. Required when the backend declares forwardValues.
   */
  readonly activations?: readonly (readonly number[])[];
  /** Whether the computation underflowed (IEEE flag), when the backend can tell (the engine can). */
  readonly underflow?: boolean;
}

/** An AD system under test (docs/DESIGN.md §5 `backends`). */
export interface AdBackend {
  /** 'engine' | 'tfjs-cpu' | 'tfjs-wasm' | 'tfjs-node' | 'torch'. */
  readonly id: string;
  /** One line for reports: what it is, with versions. */
  readonly description: string;
  /** Precisions it computes in natively. */
  readonly precisions: readonly string[];
  /** true when the framework fixes the MaxPool Jacobian itself (its rule at ties is measured, not chosen). */
  readonly fixedJacobian: boolean;
  /**
   * true when every result carries `activations` (the forward value of every layer) or `routing`:
   * the classifier then judges it along its own routing. false: verdicts are marked 'no-forward'.
   */
  readonly forwardValues: boolean;
  /** Versions of the software that produced the result (recorded in every report). */
  readonly versions: Readonly<Record<string, string>>;
  run(problem: Problem, opts: BackendRunOptions): Promise<BackendResult>;
  /** Release what the backend holds (a bridge process); optional. */
  close?(): Promise<void>;
}

/** A backend that could not be loaded, with the one line that says why. */
export interface UnavailableBackend {
  readonly id: string;
  readonly unavailable: string;
}
