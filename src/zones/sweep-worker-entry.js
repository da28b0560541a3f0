// Entry point of a verify worker thread (sweepPool.ts), chosen as bin/adzone.js chooses: beside
// sweepWorker.ts (a checkout's src/) the TypeScript runs through tsx; in dist/ (the installed
// package) sweepWorker.js runs on plain Node.
import { existsSync } from 'node:fs';

const source = new URL('./sweepWorker.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import('./sweepWorker.js');
}
