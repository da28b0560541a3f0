// Entry point of a bench worker process: the same tsx loader as bin/adzone.js, then the worker.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
