// Entry point of a verify worker thread (sweepPool.ts): sweepWorker.ts in a checkout, sweepWorker.js in dist/.
import { importSourceOrBuild } from '../util/source-or-build.js';

await importSourceOrBuild(import.meta.url, 'sweepWorker');
