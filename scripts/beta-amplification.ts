/**
 * Where does β = 10^4 change the gradient, and by how much? For one θ (initParams seed 1) and the
 * first B train mini-batches (in order, no augmentation), the engine's gradient at β = 0 and at
 * β = B_hi, per parameter tensor: the largest ‖g(β) − g(0)‖∞ over the batches, against the tensor's own
 * ‖g(0)‖∞ and against the largest gradient entry of the network (a conv bias before batch norm has
 * a real gradient of 0, so its own norm is noise), and the number of batches in which it changed. A diagnostic for the ablations
 * (README, "ResNet18"), not part of the harness:
 *
 *   npx tsx scripts/beta-amplification.ts [--batches 4] [--beta 10000] [--precision 16] [--mode strict]
 */
import { batches, datasetByName } from '../src/data/index.ts';
import { beta, choice, FIRST } from '../src/jacobians/index.ts';
import { createEngineNet, gradients, initParams, modelSpec, type ModelSpec } from '../src/models/index.ts';
import { formatByName } from '../src/precision/index.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const B = Number(arg('batches', '4'));
const BETA = Number(arg('beta', '10000'));
const format = formatByName(arg('precision', '16') as '16');
const accumulate = arg('mode', 'strict') as 'strict' | 'wide';

const cases: { label: string; spec: ModelSpec; dataset: string }[] = [
  { label: 'LeNet-5 / MNIST', spec: modelSpec('lenet5'), dataset: 'mnist' },
  {
    label: 'VGG11, width 1/8, BN / CIFAR-10 (five MaxPools)',
    spec: modelSpec('vgg11', { width: 1 / 8, batchNorm: true }),
    dataset: 'cifar10',
  },
  {
    label: 'ResNet18, ImageNet stem, width 1/4, no BN / CIFAR-10',
    spec: modelSpec('resnet18', { stem: 'imagenet', width: 1 / 4, batchNorm: false, input: [3, 32, 32] }),
    dataset: 'cifar10',
  },
  {
    label: 'ResNet18, ImageNet stem, width 1/4, BN / CIFAR-10',
    spec: modelSpec('resnet18', { stem: 'imagenet', width: 1 / 4, batchNorm: true, input: [3, 32, 32] }),
    dataset: 'cifar10',
  },
];

const maxAbs = (v: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
};

console.log(`β = ${BETA} against β = 0, ${format.name} bits ${accumulate}, first ${B} train batches of 128, θ = initParams(seed 1)\n`);
for (const c of cases) {
  const data = datasetByName(c.dataset).load('train');
  const params = initParams(c.spec, 1);
  const rows = new Map<string, { delta: number; base: number; hit: number; size: number; nonFinite: number }>();
  let global = 0;
  let b = 0;
  for (const batch of batches(data, { batchSize: 128, shuffle: false })) {
    if (b++ >= B) break;
    const g0 = gradients(createEngineNet(c.spec, params), batch, { format, accumulate, jacobian: choice(FIRST) }, { training: true });
    const g1 = gradients(createEngineNet(c.spec, params), batch, { format, accumulate, jacobian: choice(beta(BETA)) }, { training: true });
    for (const [name, a] of g0.grads) {
      const g = g1.grads.get(name)!;
      const r = rows.get(name) ?? { delta: 0, base: 0, hit: 0, size: a.length, nonFinite: 0 };
      let m = 0;
      let bad = false;
      for (let i = 0; i < a.length; i++) {
        if (!Number.isFinite(a[i]) || !Number.isFinite(g[i])) bad = true;
        else m = Math.max(m, Math.abs(g[i] - a[i]));
      }
      if (bad) r.nonFinite++;
      r.delta = Math.max(r.delta, m);
      r.base = Math.max(r.base, maxAbs(a.filter(Number.isFinite)));
      global = Math.max(global, r.base);
      if (m > 0 || bad) r.hit++;
      rows.set(name, r);
    }
  }
  const changed = [...rows].filter(([, r]) => r.hit > 0);
  console.log(
    `## ${c.label}: ${changed.length} of ${rows.size} parameter tensors change; largest |g(0)| entry of the network ${global.toExponential(2)}\n`,
  );
  console.log(
    '| parameter | values | batches changed | non-finite | max ‖Δg‖∞ | max ‖g(0)‖∞ | ‖Δg‖∞ / largest \\|g(0)\\| of the network |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [name, r] of changed.sort((x, y) => y[1].delta - x[1].delta).slice(0, 6))
    console.log(
      `| ${name} | ${r.size} | ${r.hit}/${B} | ${r.nonFinite}/${B} | ${r.delta.toExponential(2)} | ${r.base.toExponential(2)} | ${(r.delta / global).toExponential(2)} |`,
    );
  console.log('');
}
