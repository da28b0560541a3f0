/**
 * bench/results.json, schema 'adzone/bench' version 2: what `adzone bench` writes
 * (src/bench/run.ts; fields documented in bench/README.md, row type BenchRow in src/bench/types.ts).
 */
import { any, arr, count, lit, nullable, num, obj, oneOf, rec, str } from './shape.ts';

const ms = num({ min: 0 });

export const benchShape = obj({
  schema: lit('adzone/bench'),
  schemaVersion: lit(2),
  createdAt: str(),
  command: str(),
  tool: rec(any()),
  machine: obj({ cpuModel: str(), cores: count(), platform: str(), arch: str(), loadavgStart: arr(num()), loadavgEnd: arr(num()) }),
  targets: arr(
    obj({
      id: str(),
      max: num(),
      description: str(),
      results: arr(obj({ row: str(), ratio: num({ nonFinite: true }) }, { verdict: oneOf('PASS', 'MISS') })),
    }),
  ),
  notes: arr(str()),
  runSeconds: num({ min: 0 }),
  rows: arr(
    obj(
      {
        id: str(),
        group: str(),
        measurement: str(),
        model: str(),
        backend: str(),
        precision: str(),
        accumulate: str(),
        batchSize: count(),
        msPerStep: nullable(ms),
        spreadMs: nullable(obj({ min: ms, q1: ms, q3: ms, max: ms })),
        samplesMs: arr(ms),
        peakRssMB: nullable(num({ min: 0 })),
        ratios: arr(obj({ to: str(), value: num({ nonFinite: true }) }, { target: str(), max: num(), verdict: oneOf('PASS', 'MISS') })),
      },
      { error: str(), skipped: str(), detail: rec(any()) },
    ),
  ),
});

export interface BenchRowJson {
  readonly id: string;
  readonly group: string;
  readonly measurement: string;
  readonly model: string;
  readonly backend: string;
  readonly precision: string;
  readonly accumulate: string;
  readonly batchSize: number;
  readonly msPerStep: number | null;
  readonly spreadMs: { readonly min: number; readonly q1: number; readonly q3: number; readonly max: number } | null;
  readonly peakRssMB: number | null;
  readonly ratios: readonly {
    readonly to: string;
    readonly value: number;
    readonly target?: string;
    readonly max?: number;
    readonly verdict?: 'PASS' | 'MISS';
  }[];
  readonly error?: string;
  readonly skipped?: string;
}

export interface BenchJson {
  readonly schema: 'adzone/bench';
  readonly schemaVersion: 2;
  readonly createdAt: string;
  readonly command: string;
  readonly machine: {
    readonly cpuModel: string;
    readonly cores: number;
    readonly loadavgStart: readonly number[];
    readonly loadavgEnd: readonly number[];
  };
  readonly targets: readonly {
    readonly id: string;
    readonly max: number;
    readonly description: string;
    readonly results: readonly { readonly row: string; readonly ratio: number; readonly verdict?: string }[];
  }[];
  readonly notes: readonly string[];
  readonly runSeconds: number;
  readonly rows: readonly BenchRowJson[];
}
