// Entry point of a network-zones worker thread (workers.ts): the same tsx loader as bin/adzone.js, then the worker.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
