/**
 * The result schemas (src/schema): a doctored file is rejected with a message naming the file, the
 * JSON path of the bad field, what was expected and what was found; several files are written as
 * one transaction only when every one is valid; the JSON Schemas published in schemas/ are what
 * `npm run schemas` writes, and an independent validator (Ajv) reads every committed result file
 * with them and rejects the same doctored files.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { HARMLESS_TIES, OUTCOMES, ZONES } from '../src/problem/index.ts';
import {
  FILE_KINDS,
  type FileKind,
  jsonSchemaOf,
  parseResult,
  publishedSchemas,
  readResult,
  readResultIfPresent,
  SCHEMAS,
  SchemaError,
  validate,
  writeResults,
} from '../src/schema/index.ts';
import { ZonesLayerAggregateSchema, ZonesSchema } from '../src/schema/zones.ts';

const root = join(import.meta.dirname, '..');
const baselineVerify = join(root, 'fixtures/baseline/verify.json');
const thresholdsFile = join(root, 'fixtures/baseline/thresholds.json');
const load = (f: string) => JSON.parse(readFileSync(f, 'utf8'));
const tempDir = () => mkdtempSync(join(tmpdir(), 'adzone-schema-'));
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Every committed JSON file that claims one of the schemas, with its kind. */
function committedFiles(): { file: string; kind: FileKind }[] {
  // tsconfig files are JSON with comments (TypeScript's format), never result files.
  const files = execFileSync('git', ['ls-files', '*.json'], { cwd: root, encoding: 'utf8' })
    .trim()
    .split('\n')
    .filter((f) => !/(^|\/)tsconfig[^/]*\.json$/.test(f));
  const out: { file: string; kind: FileKind }[] = [];
  for (const f of files) {
    const raw = load(join(root, f));
    const kind = FILE_KINDS.find((k) => SCHEMAS[k].id === raw?.schema);
    if (kind) out.push({ file: join(root, f), kind });
  }
  return out;
}

const committedTrain = () => committedFiles().find((f) => f.kind === 'train')!.file;
const committedCorpus = () => committedFiles().find((f) => f.kind === 'counterexample')!.file;

/** Parsed JSON being doctored: any field may be set to anything, which is the point. */
// biome-ignore lint/suspicious/noExplicitAny: a doctored file is free-form JSON
type Json = any;

/** A doctored copy of a file: `change` edits the parsed object. */
function doctor(file: string, change: (o: Json) => void): Json {
  const o = load(file);
  change(o);
  return o;
}

const ajv = new Ajv({ strict: true, allErrors: true, strictTuples: false });
const ajvCheck = (kind: FileKind) => ajv.getSchema(jsonSchemaOf(kind).$id as string) ?? ajv.compile(jsonSchemaOf(kind));

type Case = [what: string, kind: FileKind, doctored: unknown, message: string];

/** Doctored verify.json files (from the committed baseline), with the message parseResult must give after "<file>: ". */
function verifyCases(): Case[] {
  return [
    [
      'a count that is a string',
      'verify',
      doctor(baselineVerify, (o) => {
        o.table[2].n = '200';
      }),
      '$.table[2].n: expected a whole number ≥ 0, got the string "200"',
    ],
    [
      'a missing required field',
      'verify',
      doctor(baselineVerify, (o) => {
        delete o.realTies[1].harmful;
      }),
      '$.realTies[1].harmful: expected a whole number ≥ 0, got nothing (the field is missing)',
    ],
    [
      'a precision not in the set',
      'verify',
      doctor(baselineVerify, (o) => {
        o.table[0].precision = '12';
      }),
      "$.table[0].precision: expected one of '16', '32', '64', 'bf16', 'e4m3', 'e5m2', got the string \"12\"",
    ],
    [
      'an unknown zone class counted',
      'verify',
      doctor(baselineVerify, (o) => {
        o.table[0].counts['compensation:maybe'] = 1;
      }),
      `$.table[0].counts["compensation:maybe"]: expected no field of that name (this object's fields are 'regular', 'bifurcation', 'compensation:tie', 'compensation:flip', 'nonfinite', 'defect'), got 1`,
    ],
    [
      'an unknown zone class for a counterexample',
      'verify',
      doctor(baselineVerify, (o) => {
        o.counterexamples[0].class = 'harmless';
      }),
      "$.counterexamples[0].class: expected one of 'regular', 'bifurcation', 'compensation:tie', 'compensation:flip', 'nonfinite', 'defect', got the string \"harmless\"",
    ],
    [
      'NaN where the schema allows no non-finite number',
      'verify',
      doctor(baselineVerify, (o) => {
        o.table[1].nonRegularShare = 'NaN';
      }),
      '$.table[1].nonRegularShare: expected a number in [0, 1], got the string "NaN"',
    ],
  ];
}

/** A synthetic zones.json (every field at its schema's default, one layer), doctored by `change`. */
function zonesDoctored(change: (z: Json) => void): Json {
  const z: Json = Value.Create(ZonesSchema);
  z.precisions[0].layers = [Value.Create(ZonesLayerAggregateSchema)];
  change(z);
  return z;
}

/** Doctored files of the other kinds. */
function otherCases(): Case[] {
  return [
    [
      'a share above 1 (train accuracy)',
      'train',
      doctor(committedTrain(), (o) => {
        o.epochs[0].testAcc = 97.5;
      }),
      '$.epochs[0].testAcc: expected a number in [0, 1] or null, got 97.5',
    ],
    [
      'a train precision not in the set',
      'train',
      doctor(committedTrain(), (o) => {
        o.config.precision = 'e4m3';
      }),
      "$.config.precision: expected one of '16', '32', '64', 'bf16', got the string \"e4m3\"",
    ],
    [
      'a harmless tie counted as a zone (zones.json)',
      'zones',
      zonesDoctored((z) => {
        z.precisions[0].findings = [
          { ...Value.Create(ZonesSchema.properties.precisions.items.properties.findings.items), zone: 'harmless' },
        ];
      }),
      `$.precisions[0].findings[0].zone: expected one of 'bifurcation', 'compensation', got the string "harmless"`,
    ],
    [
      'an unknown harmless-tie kind (zones.json)',
      'zones',
      zonesDoctored((z) => {
        z.precisions[0].layers[0].harmless.background = 3;
      }),
      `$.precisions[0].layers[0].harmless.background: expected no field of that name (this object's fields are ${HARMLESS_TIES.map((k) => `'${k}'`).join(', ')}), got 3`,
    ],
    [
      'a misspelt threshold',
      'gate-thresholds',
      doctor(thresholdsFile, (o) => {
        o.verify.inconsistentMaxx = o.verify.inconsistentMax;
      }),
      "$.verify.inconsistentMaxx: expected no field of that name (this object's fields are 'inconsistentMax', 'loneMaxPoolGenerators', 'loneMaxPool64CompensationMax', 'nonRegularShareMaxIncrease', 'defectShareMaxIncrease', 'samplingSigmas', 'tieRulesMustMatch', 'rowsMustMatch'), got 0",
    ],
    [
      'a corpus entry expecting a zone that is not a class',
      'counterexample',
      doctor(committedCorpus(), (o) => {
        o.expected = 'compensation';
      }),
      "$.expected: expected one of 'regular', 'bifurcation', 'compensation:tie', 'compensation:flip', 'nonfinite', 'defect', got the string \"compensation\"",
    ],
  ];
}

describe('a doctored file is rejected, naming the file, the field, what was expected and what was found', () => {
  it.each([...verifyCases(), ...otherCases()])('%s (%s)', (_what, kind, o, message) => {
    expect(() => parseResult(o, 'x/doctored.json', kind)).toThrow(new RegExp(`^x/doctored\\.json: ${esc(message)}$`));
    // the published JSON Schema rejects it too, at the field or the object holding it (inside a
    // union Ajv lists every alternative's error, the null one first)
    const check = ajvCheck(kind);
    expect(check(o)).toBe(false);
    const where = (check.errors ?? []).map((e) => `$${e.instancePath.replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.')}`);
    const path = message.slice(0, message.indexOf(': '));
    const parent = path.replace(/(\.[\w-]+|\["[^"]*"\]|\[\d+\])$/, '');
    expect(
      where.some((w) => w === path || w === parent),
      where.join(', '),
    ).toBe(true);
  });

  it('a SchemaError carries the parts of its message', () => {
    const o = doctor(baselineVerify, (v) => {
      v.table[0].counts.regular = -1;
    });
    try {
      parseResult(o, 'v.json');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SchemaError);
      expect(e).toMatchObject({ file: 'v.json', path: '$.table[0].counts.regular', expected: 'a whole number ≥ 0', got: '-1' });
    }
  });

  it('a number that is NaN in memory is checked as the string the file will hold', () => {
    const v: Json = readResult(baselineVerify).data;
    const bad = structuredClone(v);
    bad.table[0].nonRegularShare = Number.NaN;
    expect(() => validate('verify', bad, 'out/verify.json')).toThrow(
      /^out\/verify\.json: \$\.table\[0\]\.nonRegularShare: expected a number in \[0, 1\], got the string "NaN"$/,
    );
    const ok = structuredClone(v);
    ok.counterexamples[0].classification.valueChecks[0].maxError = Number.NaN;
    expect(() => validate('verify', ok)).not.toThrow();
    const d = tempDir();
    writeResults([{ file: join(d, 'verify.json'), kind: 'verify', data: ok }]);
    expect(Number.isNaN(readResult(join(d, 'verify.json'), 'verify').data.counterexamples[0].classification.valueChecks[0].maxError)).toBe(
      true,
    );
  });
});

describe('writeResults', () => {
  it('writes nothing when one of the files is bad, and everything when all are good', () => {
    const d = tempDir();
    const v = load(baselineVerify);
    const bad = { ...v, seconds: -1 };
    const files = (data: unknown) => [
      { path: join(d, 'verify.md'), data: '# verify\n' },
      { file: join(d, 'verify.json'), kind: 'verify' as const, data },
      { file: join(d, 'thresholds.json'), kind: 'gate-thresholds' as const, data: load(thresholdsFile) },
    ];
    expect(() => writeResults(files(bad))).toThrow(/verify\.json: \$\.seconds: expected a number ≥ 0, got -1/);
    expect(readdirSync(d)).toEqual([]);
    writeResults(files(v));
    expect(readdirSync(d).sort()).toEqual(['thresholds.json', 'verify.json', 'verify.md']);
    expect(readFileSync(join(d, 'verify.json'), 'utf8')).toBe(readFileSync(baselineVerify, 'utf8'));
  });
});

describe('the published JSON Schemas', () => {
  it('schemas/ holds exactly what `npm run schemas` writes', () => {
    const dir = join(root, 'schemas');
    const want = publishedSchemas();
    expect(existsSync(dir), 'schemas/ is missing: run npm run schemas').toBe(true);
    // protocol.schema.json is the AD protocol's (checked by properties/torch.test.ts), written by the same script.
    expect(readdirSync(dir).sort(), 'run npm run schemas').toEqual([...want.map((f) => f.file), 'protocol.schema.json'].sort());
    for (const f of want) expect(readFileSync(join(dir, f.file), 'utf8'), `schemas/${f.file} is stale: run npm run schemas`).toBe(f.text);
  });

  it('every committed result file reads, and passes its published JSON Schema in an independent validator', () => {
    const files = committedFiles();
    expect(new Set(files.map((f) => f.kind))).toEqual(
      // zones: fixtures/doctored/_base holds a real zones.json since the doctored-report suite;
      // tune: the tuned VGG11 grid (reports/ablate/cifar10-vgg11-nobn-tuned) keeps each cell's search
      new Set(['verify', 'zones', 'bench', 'train', 'ablate', 'ablate-grid', 'counterexample', 'gate-thresholds', 'tune']),
    );
    for (const { file, kind } of files) {
      expect(readResult(file, kind).kind).toBe(kind);
      const check = ajvCheck(kind);
      expect(check(load(file)), `${file}: ${JSON.stringify(check.errors?.[0])}`).toBe(true);
    }
  });
});

describe('the vocabulary in the schemas', () => {
  it('harmless is never a zone: not a zone, not an outcome, not a zone of a network unit', () => {
    expect(ZONES).not.toContain('harmless');
    expect(OUTCOMES).not.toContain('harmless');
    const unitZones = ZonesSchema.properties.precisions.items.properties.findings.items.properties.zone.anyOf.map((a) => a.const);
    expect(unitZones).toEqual(['bifurcation', 'compensation']);
    expect(ZonesSchema.properties.precisions.items.properties.harmlessExamples.items.properties).not.toHaveProperty('zone');
  });
});

describe('readResultIfPresent', () => {
  it("absent → null, valid → its data, invalid → the caller's error carrying the SchemaError's message", () => {
    const d = tempDir();
    const f = join(d, 'tune.json');
    const invalid = (e: SchemaError) => new RangeError(`caller: ${e.message}`);
    expect(readResultIfPresent(f, 'tune', invalid)).toBeNull();
    copyFileSync(join(root, 'reports/ablate/cifar10-vgg11-nobn-tuned/runs/precision-p16-wide_beta-0/tune.json'), f);
    expect(readResultIfPresent(f, 'tune', invalid)).toEqual(readResult(f, 'tune').data);
    writeFileSync(f, '{"schema": "adzone/tune"');
    expect(() => readResultIfPresent(f, 'tune', invalid)).toThrow(RangeError);
    expect(() => readResultIfPresent(f, 'tune', invalid)).toThrow(/^caller: .*not valid JSON/);
  });
});
