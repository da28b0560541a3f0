// Entry point of a network-zones worker thread (workers.ts): worker.ts in a checkout, worker.js in dist/.
import { importSourceOrBuild } from '../../util/source-or-build.js';

await importSourceOrBuild(import.meta.url, 'worker');
