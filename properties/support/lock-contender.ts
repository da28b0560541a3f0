/**
 * One contender for a run folder's lock (properties/train-integrity.test.ts): waits until the
 * wall-clock time given, so that every contender tries at once, takes the lock, holds it a while,
 * and prints 'got', 'busy' (RunLockedError) or 'error <message>'.
 *   node --import tsx properties/support/lock-contender.ts DIR START_MS HOLD_MS
 */
import { lockRun } from '../../src/train/run.ts';

const [dir, start, hold] = process.argv.slice(2);
while (Date.now() < Number(start)) {
  /* spin to the start line */
}
try {
  const release = lockRun(dir);
  process.stdout.write('got\n');
  setTimeout(release, Number(hold));
} catch (e) {
  process.stdout.write((e as Error).name === 'RunLockedError' ? 'busy\n' : `error ${(e as Error).message}\n`);
}
