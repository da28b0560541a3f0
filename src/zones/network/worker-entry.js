// Entry point of a network-zones worker thread (workers.ts), chosen as bin/adzone.js chooses: beside
// worker.ts (a checkout's src/) the TypeScript runs through tsx; in dist/ (the installed package)
// worker.js runs on plain Node, where tsx (a devDependency) may not be installed at all.
import { existsSync } from 'node:fs';

const source = new URL('./worker.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import('./worker.js');
}
