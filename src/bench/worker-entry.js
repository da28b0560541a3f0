// Entry point of a bench worker process: worker.ts in a checkout, worker.js in dist/.
import { importSourceOrBuild } from '../util/source-or-build.js';

await importSourceOrBuild(import.meta.url, 'worker');
