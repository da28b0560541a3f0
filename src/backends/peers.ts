/**
 * tfjs is an optional peer dependency of adzone: the core (precision, oracle, generators, engine,
 * classifier) installs and runs without it. This file knows which npm packages each tfjs backend
 * needs and says, in one line, what to install when one is missing. It imports nothing from tfjs,
 * so asking costs nothing and works where tfjs is absent.
 */
import { missingPackages, notInstalled } from '../util/peers.ts';

/** The npm packages each tfjs backend needs, in install order. */
export const TFJS_PEERS = {
  'tfjs-cpu': ['@tensorflow/tfjs'],
  'tfjs-wasm': ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm'],
  'tfjs-node': ['@tensorflow/tfjs', '@tensorflow/tfjs-node'],
} as const satisfies Record<string, readonly string[]>;

export type TfjsPeerBackend = keyof typeof TFJS_PEERS;

/** The line a run prints when tfjs-node is absent (it is never installed by `npm install`: its install script downloads libtensorflow). */
export const TFJS_NODE_MISSING = notInstalled(['@tensorflow/tfjs-node'], TFJS_PEERS['tfjs-node']);

/** Why this tfjs backend cannot load here (one line naming the missing packages and the install command), or undefined when its packages resolve. */
export function tfjsMissing(id: TfjsPeerBackend): string | undefined {
  const missing = missingPackages(TFJS_PEERS[id]);
  if (missing.length === 0) return undefined;
  return id === 'tfjs-node' && missing.length === 1 ? TFJS_NODE_MISSING : notInstalled(missing, TFJS_PEERS[id]);
}
