/**
 * Deterministic parameter initialisation: the same (spec, seed) gives the same doubles on every
 * machine, and every backend rounds them to its own precision.
 *
 * Randomness: each parameter tensor has its own stream, seeded by a 32-bit hash of (seed, parameter
 * name) (FNV-1a over the name's UTF-16 code units, mixed with the seed by splitmix32), so adding or
 * removing a layer never shifts another layer's values. The stream is xoshiro128** (Blackman &
 * Vigna) seeded by four splitmix32 outputs; a uniform double in [0, 1) takes two 32-bit outputs
 * (27 + 26 high bits → a multiple of 2^-53).
 *
 * Distributions, per the layer's `init` (fan_in = in·kh·kw for a conv, in for a linear):
 * - 'torch-default' (nn.Conv2d / nn.Linear reset_parameters): weight kaiming_uniform_(a = √5):
 *   gain = √(2 / (1 + a²)) = √(1/3), bound = gain·√(3 / fan_in) = 1/√fan_in, weight ~ U(−bound, bound);
 *   bias ~ U(−1/√fan_in, 1/√fan_in), also as PyTorch does (so the §4 "default init" run is
 *   reproduced; only the paper's own inits below have zero biases).
 * - 'kaiming-uniform' (the paper's LeNet convs): torch.nn.init.kaiming_uniform_ with its defaults
 *   (a = 0, mode fan_in, nonlinearity leaky_relu): gain = √2, bound = √2·√(3 / fan_in) = √(6 / fan_in)
 *   (He et al. 2015, uniform form); bias 0.
 * - 'normal-0.01' (the paper's LeNet linears): weight ~ N(0, 0.01²) (standard deviation 0.01),
 *   by Box–Muller: with u1, u2 uniform in [0, 1), r = √(−2 ln(1 − u1)), z = r·cos(2πu2) and then
 *   r·sin(2πu2) (both used, in that order); bias 0.
 * - batch norm: γ (`.weight`) = 1, β (`.bias`) = 0; running_mean = 0, running_var = 1 (initBuffers).
 */
import { buffersOf, paramsOf, type ModelSpec, type NetLayer } from './spec.ts';

/** splitmix32 step (a 32-bit finaliser of the golden-ratio sequence). */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** 32-bit seed of one parameter's stream. */
export function streamSeed(seed: number, name: string): number {
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  const st = { s: (h ^ Math.imul(seed | 0, 0x9e3779b1) ^ Math.floor(seed / 2 ** 32)) | 0 };
  return splitmix32(st);
}

/** A seeded stream of uniform doubles in [0, 1) (xoshiro128**). */
export function uniformStream(seed32: number): () => number {
  const st = { s: seed32 | 0 };
  const s = new Uint32Array([splitmix32(st), splitmix32(st), splitmix32(st), splitmix32(st)]);
  const next = (): number => {
    const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
  };
  return () => ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
}
function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Box–Muller normal samples, N(0, std²), both outputs of each pair used. */
function normals(u: () => number, n: number, std: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    const t = 2 * Math.PI * u();
    out[i] = std * r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = std * r * Math.sin(t);
  }
  return out;
}

function uniforms(u: () => number, n: number, bound: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * u() - 1) * bound;
  return out;
}

/** Every conv/linear/bn layer by name, residual bodies and shortcuts included. */
function namedLayers(layers: readonly NetLayer[], into = new Map<string, NetLayer>()): Map<string, NetLayer> {
  for (const l of layers) {
    if (l.kind === 'residual') {
      namedLayers(l.body, into);
      namedLayers(l.shortcut, into);
    } else if ('name' in l) {
      into.set(l.name, l);
    }
  }
  return into;
}

/** Initial parameters by PyTorch name (paramsOf order), as doubles. */
export function initParams(spec: Pick<ModelSpec, 'layers'>, seed: number): Map<string, Float64Array> {
  const byName = namedLayers(spec.layers);
  const out = new Map<string, Float64Array>();
  for (const p of paramsOf(spec)) {
    const layerName = p.name.slice(0, p.name.lastIndexOf('.'));
    const layer = byName.get(layerName);
    if (!layer) throw new Error(`initParams: no layer named ${layerName}`);
    const n = p.shape.reduce((a, b) => a * b, 1);
    const u = uniformStream(streamSeed(seed, p.name));
    let values: Float64Array;
    if (p.kind === 'bn-gamma') values = new Float64Array(n).fill(1);
    else if (p.kind === 'bn-beta') values = new Float64Array(n);
    else if (layer.kind === 'conv2d' || layer.kind === 'linear') {
      const fanIn = layer.kind === 'conv2d' ? layer.inChannels * layer.kernel[0] * layer.kernel[1] : layer.inFeatures;
      if (layer.init === 'torch-default') values = uniforms(u, n, 1 / Math.sqrt(fanIn));
      else if (p.kind === 'bias') values = new Float64Array(n);
      else if (layer.init === 'kaiming-uniform') values = uniforms(u, n, Math.sqrt(6 / fanIn));
      else values = normals(u, n, 0.01);
    } else {
      throw new Error(`initParams: parameter ${p.name} belongs to a ${layer.kind} layer`);
    }
    out.set(p.name, values);
  }
  return out;
}

/** Initial batch-norm buffers: running_mean 0, running_var 1 (PyTorch's). */
export function initBuffers(spec: Pick<ModelSpec, 'layers'>): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const b of buffersOf(spec)) out.set(b.name, new Float64Array(b.shape[0]).fill(b.kind === 'bn-running-var' ? 1 : 0));
  return out;
}
