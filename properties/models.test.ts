/**
 * Models (src/models): the architectures match the published ones (parameter counts, PyTorch
 * names), the registry is strict about names and options, and initialisation is deterministic with
 * the documented distributions.
 *
 * Reference parameter counts (width 1):
 * - ResNet18, ImageNet stem, 1000 classes: 11,689,512, torchvision.models.resnet18 (its weights
 *   table lists num_params 11,689,512).
 * - ResNet18, CIFAR stem, 10 classes: 11,173,962, kuangliu/pytorch-cifar ResNet18 (the usual
 *   "11.17M"); it is the ImageNet count minus the 7×7 stem conv plus the 3×3 one and the smaller fc:
 *   11,689,512 − 3·64·49 + 3·64·9 − (512·1000 + 1000) + (512·10 + 10) = 11,173,962.
 * - ResNet18 CIFAR without batch norm: the 4,800 BN channels (bn1 64; 4 BNs per layer of 64, 128,
 *   256, 512 channels; 3 downsample BNs of 128, 256, 512) lose γ and β (−9,600) and their convs gain
 *   a bias each (+4,800): 11,169,162.
 * - VGG11 CIFAR variant (kuangliu/pytorch-cifar VGG('VGG11'), convs with bias, Linear(512, 10)),
 *   derived layer by layer: convs Σ (9·in·out + out) over (3→64, 64→128, 128→256, 256→256,
 *   256→512, 512→512 ×3) = 1,792 + 73,856 + 295,168 + 590,080 + 1,180,160 + 3·2,359,808
 *   = 9,220,480; classifier 5,130: 9,225,610 without BN. BN adds 2·(64 + 128 + 2·256 + 4·512) =
 *   5,504: VGG11-BN 9,231,114.
 * - LeNet-5 as the paper trains it: conv1 6·1·25 + 6 = 156, conv2 16·6·25 + 16 = 2,416, fc1
 *   256·120 + 120 = 30,840, fc2 120·84 + 84 = 10,164, fc3 84·10 + 10 = 850: 44,426 (+ 2·(6 + 16)
 *   = 44,470 with BN). With padded conv1 (fc1 400 → 120: 48,120): 61,706, the count of PyTorch's
 *   tutorial LeNet (`Net` in "Neural Networks", 16·5·5 → 120 → 84 → 10).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buffersOf,
  countParams,
  initBuffers,
  initParams,
  isModelName,
  MODEL_NAMES,
  modelSpec,
  paramsOf,
  specShapes,
  uniformStream,
  streamSeed,
  type ModelSpec,
  type NetLayer,
} from '../src/models/index.ts';
import { runs } from '../src/nightly/runs.ts';

function layersOf(spec: Pick<ModelSpec, 'layers'>): Exclude<NetLayer, { kind: 'residual' }>[] {
  const out: Exclude<NetLayer, { kind: 'residual' }>[] = [];
  const walk = (ls: readonly NetLayer[]) => {
    for (const l of ls) {
      if (l.kind === 'residual') {
        walk(l.body);
        walk(l.shortcut);
      } else out.push(l);
    }
  };
  walk(spec.layers);
  return out;
}
/** Bitwise equality of two Float64Arrays (fast; vitest's deep equality is slow on 30k entries). */
const same = (a: Float64Array | undefined, b: Float64Array | undefined): boolean =>
  !!a && !!b && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const convs = (spec: ModelSpec) => layersOf(spec).filter((l): l is Extract<NetLayer, { kind: 'conv2d' }> => l.kind === 'conv2d');

describe('parameter counts at width 1 match the published architectures', () => {
  const cases: [string, Parameters<typeof modelSpec>[1], number][] = [
    ['resnet18', { stem: 'imagenet' }, 11_689_512],
    ['resnet18', { stem: 'cifar' }, 11_173_962],
    ['resnet18', { stem: 'cifar', batchNorm: false }, 11_169_162],
    ['vgg11', { batchNorm: true }, 9_231_114],
    ['vgg11', {}, 9_225_610],
    ['lenet5', {}, 44_426],
    ['lenet5', { batchNorm: true }, 44_470],
    ['lenet5-padded', {}, 61_706],
  ];
  for (const [name, opts, expected] of cases) {
    it(`${name} ${JSON.stringify(opts)}: ${expected.toLocaleString('en')}`, () => {
      expect(countParams(modelSpec(name, opts))).toBe(expected);
    });
  }
});

describe('PyTorch names and structure', () => {
  it("resnet18 (ImageNet) has torchvision's 62 parameter tensors and 40 BN buffers, under its names", () => {
    const spec = modelSpec('resnet18', { stem: 'imagenet' });
    const names = paramsOf(spec).map((p) => p.name);
    expect(names.length).toBe(62);
    expect(buffersOf(spec).length).toBe(40);
    for (const n of [
      'conv1.weight',
      'bn1.weight',
      'bn1.bias',
      'layer1.0.conv1.weight',
      'layer1.1.bn2.bias',
      'layer2.0.downsample.0.weight',
      'layer2.0.downsample.1.weight',
      'layer4.1.conv2.weight',
      'fc.weight',
      'fc.bias',
    ]) {
      expect(names).toContain(n);
    }
    expect(names.some((n) => n.startsWith('layer1.0.downsample'))).toBe(false); // 64 → 64, stride 1: identity shortcut
    expect(paramsOf(spec).find((p) => p.name === 'conv1.weight')!.shape).toEqual([64, 3, 7, 7]);
    expect(specShapes(spec).at(-4)).toEqual([512, 7, 7]); // 224 → 112 → 56 → 56 → 28 → 14 → 7, before the global pool
    expect(layersOf(spec).filter((l) => l.kind === 'maxpool')).toEqual([
      { kind: 'maxpool', kernel: [3, 3], stride: [2, 2], padding: [1, 1] },
    ]);
  });

  it('resnet18 (CIFAR) has a 3×3 stride-1 stem and no MaxPool; without BN every conv has a bias and there is no batchnorm', () => {
    const bn = modelSpec('resnet18');
    expect(convs(bn)[0]).toMatchObject({ name: 'conv1', kernel: [3, 3], stride: [1, 1], padding: [1, 1], bias: false });
    expect(layersOf(bn).some((l) => l.kind === 'maxpool')).toBe(false);
    expect(convs(bn).every((c) => !c.bias)).toBe(true);
    const plain = modelSpec('resnet18', { batchNorm: false });
    expect(convs(plain).every((c) => c.bias)).toBe(true);
    expect(layersOf(plain).some((l) => l.kind === 'batchnorm2d')).toBe(false);
    expect(buffersOf(plain)).toEqual([]);
  });

  it("vgg11's convs sit at torchvision's nn.Sequential indices, with and without BN", () => {
    expect(convs(modelSpec('vgg11')).map((c) => c.name)).toEqual([0, 3, 6, 8, 11, 13, 16, 18].map((i) => `features.${i}`));
    const bn = modelSpec('vgg11', { batchNorm: true });
    expect(convs(bn).map((c) => c.name)).toEqual([0, 4, 8, 11, 15, 18, 22, 25].map((i) => `features.${i}`));
    expect(
      layersOf(bn)
        .filter((l) => l.kind === 'batchnorm2d')
        .map((l) => (l as { name: string }).name),
    ).toEqual([1, 5, 9, 12, 16, 19, 23, 26].map((i) => `features.${i}`));
    expect(paramsOf(bn).at(-2)).toEqual({ name: 'classifier.weight', shape: [10, 512], kind: 'weight' });
  });

  it('lenet5: the paper variant flattens 16·4·4 = 256 features, the padded one 16·5·5 = 400; BN sits between conv and ReLU', () => {
    const paper = modelSpec('lenet5', { batchNorm: true });
    expect(paramsOf(paper).map((p) => p.name)).toEqual([
      'conv1.weight',
      'conv1.bias',
      'bn1.weight',
      'bn1.bias',
      'conv2.weight',
      'conv2.bias',
      'bn2.weight',
      'bn2.bias',
      'fc1.weight',
      'fc1.bias',
      'fc2.weight',
      'fc2.bias',
      'fc3.weight',
      'fc3.bias',
    ]);
    expect(paper.layers.slice(0, 4).map((l) => l.kind)).toEqual(['conv2d', 'batchnorm2d', 'relu', 'maxpool']);
    expect(paramsOf(paper).find((p) => p.name === 'fc1.weight')!.shape).toEqual([120, 256]);
    expect(paramsOf(modelSpec('lenet5-padded')).find((p) => p.name === 'fc1.weight')!.shape).toEqual([120, 400]);
    expect(convs(paper).map((c) => c.init)).toEqual(['kaiming-uniform', 'kaiming-uniform']);
    expect(convs(modelSpec('lenet5-padded')).map((c) => c.init)).toEqual(['torch-default', 'torch-default']);
    expect(convs(modelSpec('lenet5-padded', { init: 'paper' })).map((c) => c.init)).toEqual(['kaiming-uniform', 'kaiming-uniform']);
  });

  it('width multiplies every channel count (rounded, at least 1) and the spec stays consistent', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1 / 256, max: 2, noNaN: true }),
        fc.boolean(),
        fc.constantFrom('cifar', 'imagenet'),
        (width, batchNorm, stem) => {
          const base = modelSpec('resnet18', { stem, batchNorm });
          const scaledSpec = modelSpec('resnet18', { stem, batchNorm, width }); // specShapes ran inside
          convs(scaledSpec).forEach((c, i) => {
            expect(c.outChannels).toBe(Math.max(1, Math.round(convs(base)[i].outChannels * width)));
          });
          const v = modelSpec('vgg11', { width, batchNorm });
          convs(v).forEach((c, i) => {
            expect(c.outChannels).toBe(Math.max(1, Math.round(convs(modelSpec('vgg11'))[i].outChannels * width)));
          });
          expect(specShapes(v).at(-1)).toEqual([10]);
        },
      ),
      { numRuns: runs(60) },
    );
  });
});

describe('registry', () => {
  it('knows its names and rejects others, listing the valid ones', () => {
    for (const n of MODEL_NAMES) {
      expect(isModelName(n)).toBe(true);
      const s = modelSpec(n);
      expect(specShapes(s).at(-1)).toEqual([s.classes]);
    }
    expect(() => modelSpec('resnet50')).toThrow(/unknown model 'resnet50': expected one of lenet5, lenet5-padded, vgg11, resnet18/);
  });

  it('rejects options a model does not take, bad classes and bad inputs', () => {
    expect(() => modelSpec('vgg11', { stem: 'cifar' })).toThrow(/does not take option stem/);
    expect(() => modelSpec('lenet5', { width: 2 })).toThrow(/does not take option width/);
    expect(() => modelSpec('resnet18', { classes: 0 })).toThrow(/classes/);
    expect(() => modelSpec('vgg11', { input: [3, 16, 16] })).toThrow(/too small/);
    expect(() => modelSpec('vgg11', { width: 0 })).toThrow(/width/);
  });

  it('takes classes and input sizes (ImageNet stem: 1000 classes by default)', () => {
    expect(modelSpec('resnet18', { stem: 'imagenet' }).classes).toBe(1000);
    expect(modelSpec('resnet18', { stem: 'imagenet', input: [3, 32, 32] }).input).toEqual([3, 32, 32]);
    const l = modelSpec('lenet5', { input: [1, 32, 32], classes: 3 });
    expect(paramsOf(l).find((p) => p.name === 'fc1.weight')!.shape).toEqual([120, 16 * 5 * 5]);
    expect(paramsOf(l).at(-1)!.shape).toEqual([3]);
  });
});

// ---------------------------------------------------------------------------------------------
// Initialisation

/** Sample mean and variance. */
function moments(v: Float64Array): { mean: number; variance: number } {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  return { mean, variance: v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length };
}

describe('initialisation', () => {
  it('is deterministic per (seed, name) and independent of the other layers', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const a = initParams(modelSpec('lenet5'), seed);
        const b = initParams(modelSpec('lenet5'), seed);
        const withBn = initParams(modelSpec('lenet5', { batchNorm: true }), seed);
        for (const [name, v] of a) {
          expect(same(b.get(name), v)).toBe(true);
          expect(same(withBn.get(name), v)).toBe(true); // adding BN layers shifts no other stream
        }
        const other = initParams(modelSpec('lenet5'), seed + 1);
        expect(same(other.get('conv1.weight'), a.get('conv1.weight'))).toBe(false);
      }),
      { numRuns: runs(20) },
    );
  });

  it('uniform doubles are multiples of 2^-53 in [0, 1), with mean 1/2 and variance 1/12', () => {
    fc.assert(
      fc.property(fc.integer(), fc.string(), (seed, name) => {
        const u = uniformStream(streamSeed(seed, name));
        const v = Float64Array.from({ length: 4000 }, u);
        for (const x of v) {
          expect(x >= 0 && x < 1).toBe(true);
          expect(Number.isInteger(x * 2 ** 53)).toBe(true);
        }
        const m = moments(v);
        // Standard errors: mean √(1/12/n) ≈ 0.0046, variance ≈ √(1/180/n) ≈ 0.0012; 5 of each.
        expect(Math.abs(m.mean - 0.5)).toBeLessThan(0.023);
        expect(Math.abs(m.variance - 1 / 12)).toBeLessThan(0.006);
      }),
      { numRuns: runs(20) },
    );
  });

  it("the paper's LeNet: Kaiming-uniform convs (bound √(6/fan_in)), N(0, 0.01²) linears, zero biases", () => {
    const spec = modelSpec('lenet5');
    const p = initParams(spec, 7);
    for (const [name, fanIn] of [
      ['conv1.weight', 25],
      ['conv2.weight', 150],
    ] as const) {
      const v = p.get(name)!;
      const bound = Math.sqrt(6 / fanIn);
      expect(v.every((x) => Math.abs(x) < bound)).toBe(true);
      expect(Math.max(...v.map(Math.abs))).toBeGreaterThan(0.8 * bound);
    }
    // conv2: 2400 samples of U(−b, b): variance b²/3 = 2/fan_in, relative standard error √(0.8/n) ≈ 1.8%.
    expect(moments(p.get('conv2.weight')!).variance / (2 / 150)).toBeGreaterThan(0.9);
    expect(moments(p.get('conv2.weight')!).variance / (2 / 150)).toBeLessThan(1.1);
    // fc1: 30720 samples of N(0, 0.01²): mean s.e. 5.7e-5, variance relative s.e. √(2/n) ≈ 0.8%.
    const fc1 = moments(p.get('fc1.weight')!);
    expect(Math.abs(fc1.mean)).toBeLessThan(3e-4);
    expect(Math.abs(Math.sqrt(fc1.variance) - 0.01)).toBeLessThan(0.01 * 0.03);
    for (const name of ['conv1.bias', 'conv2.bias', 'fc1.bias', 'fc2.bias', 'fc3.bias'])
      expect(p.get(name)!.every((x) => x === 0)).toBe(true);
  });

  it('torch-default: weights and biases U(±1/√fan_in) (kaiming_uniform_ with a = √5); BN γ = 1, β = 0, running mean 0, var 1', () => {
    const spec = modelSpec('vgg11', { batchNorm: true, width: 1 / 4 });
    const p = initParams(spec, 3);
    const c = convs(spec)[3]; // 32 → 64 channels at width 1/4: fan_in 288
    const fanIn = c.inChannels * 9;
    const w = p.get(`${c.name}.weight`)!;
    expect(w.every((x) => Math.abs(x) < 1 / Math.sqrt(fanIn))).toBe(true);
    const ratio = moments(w).variance / (1 / (3 * fanIn));
    expect(ratio).toBeGreaterThan(0.95);
    expect(ratio).toBeLessThan(1.05);
    expect(p.get(`${c.name}.bias`)!.every((x) => Math.abs(x) < 1 / Math.sqrt(fanIn))).toBe(true);
    expect(p.get(`${c.name}.bias`)!.some((x) => x !== 0)).toBe(true);
    expect(p.get('features.1.weight')!.every((x) => x === 1)).toBe(true);
    expect(p.get('features.1.bias')!.every((x) => x === 0)).toBe(true);
    const b = initBuffers(spec);
    expect(b.get('features.1.running_mean')!.every((x) => x === 0)).toBe(true);
    expect(b.get('features.1.running_var')!.every((x) => x === 1)).toBe(true);
    expect([...b.keys()]).toEqual(buffersOf(spec).map((x) => x.name));
  });

  it('gives every parameter of every model the right number of finite values', () => {
    for (const n of MODEL_NAMES) {
      const spec = modelSpec(n, n === 'vgg11' || n === 'resnet18' ? { width: 1 / 8 } : {});
      const p = initParams(spec, 1);
      expect([...p.keys()]).toEqual(paramsOf(spec).map((x) => x.name));
      for (const ps of paramsOf(spec)) {
        const v = p.get(ps.name)!;
        expect(v.length).toBe(ps.shape.reduce((a, b) => a * b, 1));
        expect(v.every(Number.isFinite)).toBe(true);
      }
    }
  });
});
