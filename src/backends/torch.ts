/**
 * PyTorch as an AD system under test ('torch'), through the bridge shipped in the package
 * (bridges/torch/adzone_torch_bridge.py) speaking the AD protocol over stdio: torch's own
 * conv2d / relu / max_pool2d in float32, float64 and bfloat16 (float16 where the device runs it:
 * not on a CPU with torch 1.13), gradients from autograd, forward values from the same pass.
 *
 * The interpreter: the one named (`python` option, else ADZONE_PYTHON), else the first of python3,
 * python and the system ones that imports torch (src/util/python.ts), so a virtualenv python3
 * without torch does not hide a system one that has it. When none does, the backend is unavailable
 * with one line saying what was asked and how to install it.
 *
 * Batch mode (no Python here): `results` names a results file the bridge wrote elsewhere
 * (`--batch problems.jsonl --out results.jsonl`); runs are answered from it (protocol/backend.ts).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findPython } from '../util/python.ts';
import { bridgeBackend, recordedBackend } from './protocol/backend.ts';
import { BridgeClient } from './protocol/client.ts';
import type { AdBackend, UnavailableBackend } from './types.ts';

export const TORCH_BRIDGE = fileURLToPath(new URL('../../bridges/torch/adzone_torch_bridge.py', import.meta.url));

export interface TorchBackendOptions {
  /** The Python interpreter (else ADZONE_PYTHON, else the first one found that imports torch). */
  readonly python?: string;
  /** The bridge's device: 'cpu' (default) or 'cuda'. */
  readonly device?: string;
  /** FILE.py:Class, an nn.Module the bridge uses for every maxpool layer instead of F.max_pool2d. */
  readonly module?: string;
  /** Answer from this results file (batch mode) instead of running the bridge. */
  readonly results?: string;
  /** Handshake timeout in ms (default 120 s: importing torch and probing the device is slow on a busy machine). */
  readonly handshakeTimeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  /** adzone's version, sent in the handshake. */
  readonly clientVersion?: string;
}

function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split('\n')[0];
}

/** Start the PyTorch bridge (or read its results file); never throws for a backend that cannot run here. */
export async function createTorchBackend(options: TorchBackendOptions = {}): Promise<AdBackend | UnavailableBackend> {
  const id = 'torch';
  if (options.results) return recordedBackend(id, 'PyTorch', options.results);
  if (options.module && !existsSync(options.module.replace(/:[^:]*$/, ''))) {
    return { id, unavailable: `the maxpool module ${options.module} does not exist (expected FILE.py:ClassName)` };
  }
  const found = findPython('torch', options.python, options.env ?? process.env);
  if ('missing' in found) return { id, unavailable: `PyTorch not found: ${found.missing}` };
  const args = [TORCH_BRIDGE, '--device', options.device ?? 'cpu', ...(options.module ? ['--module', options.module] : [])];
  try {
    const client = await BridgeClient.start({
      command: found.python,
      args,
      label: `the PyTorch bridge (${found.python})`,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 120_000,
      env: options.env,
      client: { name: 'adzone', version: options.clientVersion ?? '?' },
    });
    return bridgeBackend(id, `PyTorch ${found.moduleVersion}`, client);
  } catch (e) {
    return { id, unavailable: firstLine(e) };
  }
}
