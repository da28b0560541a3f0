/** Run one Task in a fresh child process and wait for its reply (or its death, or a timeout). */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Task, WorkerReply } from './types.ts';

const ENTRY = fileURLToPath(new URL('./worker-entry.js', import.meta.url));

export function runInChild(task: Task, timeoutMs: number): Promise<WorkerReply> {
  return new Promise((resolveReply) => {
    // The child's stdout goes to our stderr: only the table belongs on stdout.
    const child = fork(ENTRY, [], { serialization: 'advanced', stdio: ['ignore', 2, 2, 'ipc'], execArgv: [] });
    let settled = false;
    const done = (r: WorkerReply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolveReply(r);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done({ ok: false, error: `timed out after ${(timeoutMs / 1000).toFixed(0)} s` });
    }, timeoutMs);
    child.on('message', (m: WorkerReply) => done(m));
    child.on('error', (e) => done({ ok: false, error: `worker failed to start: ${e.message}` }));
    // A reply sent just before exiting may be delivered after 'exit': give it a moment.
    child.on('exit', (code, signal) =>
      setTimeout(() => done({ ok: false, error: `worker exited (${signal ?? `code ${code}`}) without a reply` }), 500),
    );
    child.send(task);
  });
}
