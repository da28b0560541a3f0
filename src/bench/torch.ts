/**
 * The optional PyTorch peer: when `python3 -c "import torch"` works (e.g. Debian's python3-torch,
 * 1.13 CPU, which has no float16 conv or MaxPool), torch_lenet.py times the same LeNet-5 step at
 * float32 and float64, one python process per precision. Nothing is ever installed: when torch is
 * missing, the reason is reported and the rows are skipped.
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { summarise } from './stats.ts';
import type { Reps, WireBatch, WorkerReply } from './types.ts';

const SCRIPT = fileURLToPath(new URL('./torch_lenet.py', import.meta.url));

export type TorchProbe =
  | { readonly available: true; readonly version: string; readonly python: string }
  | { readonly available: false; readonly reason: string };

/** Whether python3 can import torch here; when not, why (with the apt candidate when apt knows one). */
export function probeTorch(): TorchProbe {
  const r = spawnSync('python3', ['-c', 'import sys, torch; print(torch.__version__); print(sys.version.split()[0])'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.error)
    return { available: false, reason: `python3 could not be run (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})` };
  if (r.status === 0) {
    const [version, python] = r.stdout.trim().split('\n');
    return { available: true, version, python };
  }
  const last = r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`;
  return { available: false, reason: `python3 cannot import torch (${last})${aptHint()}; not installed from pip by design` };
}

function aptHint(): string {
  const r = spawnSync('apt-cache', ['policy', 'python3-torch'], { encoding: 'utf8', timeout: 20_000 });
  if (r.error || r.status !== 0) return '';
  const installed = /Installed:\s*(\S+)/.exec(r.stdout)?.[1];
  const candidate = /Candidate:\s*(\S+)/.exec(r.stdout)?.[1];
  if (!candidate || candidate === '(none)') return '';
  return `; Debian's python3-torch ${candidate} is available from apt (installed: ${installed ?? '?'})`;
}

export interface TorchRun {
  readonly reply: WorkerReply;
  readonly threads?: number;
  readonly torch?: string;
}

/** Time the LeNet-5 step in PyTorch at `dtype` with the given initial parameters and batch. */
export function runTorchLenet(
  dtype: 'float32' | 'float64',
  batch: WireBatch,
  params: ReadonlyMap<string, Float64Array>,
  reps: Reps,
  lr: number,
  momentum: number,
  timeoutMs: number,
): Promise<TorchRun> {
  const input = JSON.stringify({
    dtype,
    x: Array.from(batch.x),
    shape: batch.shape,
    labels: Array.from(batch.labels),
    params: Object.fromEntries([...params].map(([k, v]) => [k, Array.from(v)])),
    lr,
    momentum,
    ...reps,
  });
  return new Promise((resolveRun) => {
    const child = spawn('python3', [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => resolveRun({ reply: { ok: false, error: `python3 failed to start: ${e.message}` } }));
    child.on('close', (code, signal) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        const r = JSON.parse(line) as {
          ok: boolean;
          samplesMs: number[];
          torch: string;
          threads: number;
          peakRssMB: number;
          lastLoss: number;
        };
        if (code !== 0 || !r.ok) throw new Error('no result');
        resolveRun({
          reply: {
            ok: true,
            timing: summarise(r.samplesMs),
            rssBeforeMB: NaN,
            peakRssMB: r.peakRssMB,
            detail: { torch: r.torch, threads: r.threads, lastLoss: r.lastLoss },
          },
          threads: r.threads,
          torch: r.torch,
        });
      } catch {
        resolveRun({
          reply: {
            ok: false,
            error: `torch_lenet.py failed (${signal ?? `exit ${code}`}): ${err.trim().split('\n').slice(-3).join(' | ')}`,
          },
        });
      }
    });
    child.stdin.end(input);
  });
}
