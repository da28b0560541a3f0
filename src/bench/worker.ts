/**
 * A bench worker: a child process (forked by fork.ts through worker-entry.js, which registers the
 * same tsx loader as bin/adzone.js) that receives one Task over IPC, runs it, replies with its
 * timing and peak memory, and exits. One measurement per process, so peaks do not mix.
 */
import { runTask } from './tasks.ts';
import type { Task, WorkerReply } from './types.ts';

const MB = 1024 * 1024;

function reply(msg: WorkerReply): void {
  if (!process.send) {
    process.stderr.write('bench worker: started without an IPC channel (run it through adzone bench)\n');
    process.exit(2);
  }
  process.send(msg, () => {
    process.disconnect();
    process.exit(msg.ok ? 0 : 1);
  });
}

process.once('message', (task: Task) => {
  let rssBefore = 0;
  runTask(task, () => {
    rssBefore = process.memoryUsage().rss;
  }).then(
    (r) =>
      reply({
        ok: true,
        timing: r.timing,
        rssBeforeMB: rssBefore / MB,
        peakRssMB: (process.resourceUsage().maxRSS * 1024) / MB, // maxRSS is in kilobytes
        ...(r.detail ? { detail: r.detail } : {}),
      }),
    (e: unknown) => reply({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
  );
});
