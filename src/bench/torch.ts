/**
 * The PyTorch peer: torch_net.py times the same training step as the engine rows — the same
 * network (built from the ModelSpec's layers), the same initial parameters and BN buffers, the same
 * batch — at float32, float64 or bfloat16, pinned to a thread count. The interpreter is the first
 * that can import torch (src/util/python.ts: the --python option, ADZONE_PYTHON, then python3,
 * python and the system ones), so a pyenv python3 without torch no longer hides /usr/bin/python3.
 * Nothing is ever installed: when no interpreter has torch, the reason is reported and the rows
 * are skipped.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ModelSpec } from '../models/spec.ts';
import { findPython } from '../util/python.ts';
import { summarise } from './stats.ts';
import type { Reps, WireBatch, WorkerReply } from './types.ts';

const SCRIPT = fileURLToPath(new URL('./torch_net.py', import.meta.url));

/** What torch links for its arithmetic: the configured BLAS/LAPACK and the libraries a matmul and a conv load. */
export interface TorchBuild {
  readonly blasInfo: string | null;
  readonly lapackInfo: string | null;
  readonly onednn: string | null;
  readonly cpuCapability: string | null;
  readonly parallelBackend: string | null;
  readonly libraries: readonly string[];
}

export type TorchProbe =
  | {
      readonly available: true;
      readonly version: string;
      readonly python: string;
      readonly pythonVersion: string;
      readonly build: TorchBuild;
    }
  | { readonly available: false; readonly reason: string };

/** Find an interpreter with torch (`python`: the user's choice, else ADZONE_PYTHON, else the usual ones) and ask what torch is built with. */
export async function probeTorch(python?: string, timeoutMs = 120_000): Promise<TorchProbe> {
  const found = findPython('torch', python);
  if ('missing' in found) return { available: false, reason: found.missing };
  const r = await runPython(found.python, { probe: true }, {}, timeoutMs);
  if (!r.ok) return { available: false, reason: `${found.python} imports torch but its probe failed: ${r.error}` };
  const o = r.value as { torch: string; python: string; config: string; parallel: string; libraries: string[] };
  return {
    available: true,
    version: o.torch,
    python: found.python,
    pythonVersion: o.python,
    build: torchBuild(o.config, o.parallel, o.libraries),
  };
}

/** The facts of torch.__config__.show() / parallel_info() that say which libraries do the arithmetic. */
export function torchBuild(config: string, parallel: string, libraries: readonly string[]): TorchBuild {
  const field = (re: RegExp, s: string) => re.exec(s)?.[1]?.trim() ?? null;
  return {
    blasInfo: field(/BLAS_INFO=([^,\s]+)/, config),
    lapackInfo: field(/LAPACK_INFO=([^,\s]+)/, config),
    onednn: field(/(Intel\(R\) MKL-DNN v[^\s]+|oneDNN v[^\s]+)/, config),
    cpuCapability: field(/CPU capability usage: (\S+)/, config),
    parallelBackend: field(/ATen parallel backend: (.+)/, parallel),
    libraries,
  };
}

export interface TorchStepRequest {
  readonly python: string;
  readonly dtype: 'float32' | 'float64' | 'bfloat16';
  readonly threads: number;
  readonly spec: ModelSpec;
  /** Initial parameters and BN buffers by PyTorch name (the engine's, from initParams). */
  readonly params: ReadonlyMap<string, Float64Array>;
  readonly paramShapes: ReadonlyMap<string, readonly number[]>;
  readonly buffers: ReadonlyMap<string, { readonly values: Float64Array; readonly shape: readonly number[] }>;
  readonly batch: WireBatch;
  readonly reps: Reps;
  readonly lr: number;
  readonly momentum: number;
  readonly timeoutMs: number;
}

/** Time the training step in PyTorch; the reply's detail holds torch's first-step loss (before any update) and its thread count. */
export async function runTorchStep(q: TorchStepRequest): Promise<WorkerReply> {
  const input = {
    dtype: q.dtype,
    threads: q.threads,
    layers: q.spec.layers,
    paramNames: [...q.params.keys()],
    params: Object.fromEntries([...q.params].map(([k, v]) => [k, { values: Array.from(v), shape: q.paramShapes.get(k) }])),
    buffers: Object.fromEntries([...q.buffers].map(([k, b]) => [k, { values: Array.from(b.values), shape: b.shape }])),
    x: Array.from(q.batch.x),
    shape: q.batch.shape,
    labels: Array.from(q.batch.labels),
    lr: q.lr,
    momentum: q.momentum,
    ...q.reps,
  };
  const env = { OMP_NUM_THREADS: String(q.threads), MKL_NUM_THREADS: String(q.threads), OPENBLAS_NUM_THREADS: String(q.threads) };
  const r = await runPython(q.python, input, env, q.timeoutMs);
  if (!r.ok) return { ok: false, error: `torch_net.py: ${r.error}` };
  const o = r.value as { samplesMs: number[]; firstLoss: number; lastLoss: number; threads: number; peakRssMB: number };
  return {
    ok: true,
    timing: summarise(o.samplesMs),
    rssBeforeMB: Number.NaN,
    peakRssMB: o.peakRssMB,
    detail: { dtype: q.dtype, threads: o.threads, firstLoss: o.firstLoss, lastLoss: o.lastLoss },
  };
}

type PythonResult = { readonly ok: true; readonly value: Record<string, unknown> } | { readonly ok: false; readonly error: string };

/** Run torch_net.py with `input` as JSON on stdin; its last stdout line is the JSON answer. */
function runPython(python: string, input: unknown, env: Record<string, string>, timeoutMs: number): Promise<PythonResult> {
  return new Promise((resolveRun) => {
    const child = spawn(python, [SCRIPT], {
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      env: { ...process.env, ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', (e) => resolveRun({ ok: false, error: `${python} failed to start: ${e.message}` }));
    child.on('close', (code, signal) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        const value = JSON.parse(line) as Record<string, unknown>;
        if (code !== 0 || value.ok !== true) throw new Error('no result');
        resolveRun({ ok: true, value });
      } catch {
        resolveRun({ ok: false, error: `failed (${signal ?? `exit ${code}`}): ${err.trim().split('\n').slice(-3).join(' | ')}` });
      }
    });
    child.stdin.on('error', () => {}); // a child that dies early closes stdin: 'close' reports it
    child.stdin.end(JSON.stringify(input));
  });
}
