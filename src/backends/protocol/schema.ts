/**
 * The AD protocol's messages as TypeBox schemas (the TypeScript types are derived from them), and
 * the JSON Schema published as schemas/protocol.schema.json (`protocolJsonSchema`, written by
 * `npm run schemas`; a test checks the committed file matches).
 *
 * Stdio (line-delimited JSON, one message per line, UTF-8):
 *   client → bridge  {"type":"hello","protocols":[1],"client":{...}}
 *   bridge → client  {"type":"hello","protocol":1,"bridge":{...},"frameworks":{...},"capabilities":{...}}
 *   client → bridge  {"type":"run","id":"a","dtype":"float32","problem":{...}}   (any number, pipelined)
 *   bridge → client  {"type":"result","id":"a",...} or {"type":"error","id":"a","error":{...}}
 * The client ends the session by closing the bridge's stdin. A message the bridge cannot read
 * gets an error naming the field (id null when the id itself is unreadable); it never hangs.
 *
 * Batch mode is the same messages in two JSON Lines files: the problems file is a client hello
 * followed by run requests; the results file (written by the bridge, `--batch IN --out OUT`) is
 * the bridge's hello followed by one result or error per request, with the same ids.
 *
 * Floats travel exactly: see floats.ts (a tensor's `bits` is the hex of its IEEE bit patterns at
 * the message's dtype). Layout is NCHW; conv weights are [outChannels, inChannels, kh, kw].
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { DTYPES } from './floats.ts';

export const PROTOCOL_VERSION = 1;

const strict = { additionalProperties: false } as const;
const lit = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));

export const DtypeSchema = lit(DTYPES);
export const LAYER_KINDS = ['conv2d', 'relu', 'maxpool'] as const;

const Pair = (minimum: number) => Type.Tuple([Type.Integer({ minimum }), Type.Integer({ minimum })], { description: '[rows, cols]' });

export const TensorSchema = Type.Object(
  {
    shape: Type.Array(Type.Integer({ minimum: 0 }), { description: 'dimensions, NCHW for activations' }),
    bits: Type.String({
      pattern: '^[0-9a-f]*$',
      description:
        "every element's IEEE 754 bit pattern at the message's dtype, row-major, big-endian hex (4 digits per float16/bfloat16, 8 per float32, 16 per float64)",
    }),
  },
  { ...strict, description: 'a tensor, carried exactly' },
);

const Conv2dSchema = Type.Object(
  {
    kind: Type.Literal('conv2d'),
    outChannels: Type.Integer({ minimum: 1 }),
    kernel: Pair(1),
    stride: Pair(1),
    padding: Pair(0),
    bias: Type.Boolean(),
  },
  { ...strict, description: 'cross-correlation with zero padding, weights [out, in, kh, kw]' },
);
const ReluSchema = Type.Object(
  { kind: Type.Literal('relu') },
  { ...strict, description: "max(x, 0); its derivative at 0 is the framework's own" },
);
const MaxPoolSchema = Type.Object(
  { kind: Type.Literal('maxpool'), kernel: Pair(1), stride: Pair(1), padding: Pair(0) },
  { ...strict, description: 'max pooling, implicit −∞ padding of at most half the kernel, floor output size' },
);
export const LayerSchema = Type.Union([Conv2dSchema, ReluSchema, MaxPoolSchema]);

const ParamsSchema = Type.Union([Type.Null(), Type.Object({ weight: TensorSchema, bias: Type.Optional(TensorSchema) }, strict)], {
  description: 'conv2d: weight (and bias); other layers: null',
});

export const ProblemSchema = Type.Object(
  {
    input: TensorSchema,
    layers: Type.Array(LayerSchema, { minItems: 1 }),
    params: Type.Array(ParamsSchema, { description: 'one entry per layer' }),
    cotangent: TensorSchema,
  },
  { ...strict, description: 'input, layer chain and parameters; the loss is ⟨cotangent, output⟩' },
);

const NameVersion = Type.Object({ name: Type.String(), version: Type.String() }, strict);

export const ClientHelloSchema = Type.Object(
  {
    type: Type.Literal('hello'),
    protocols: Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, description: 'protocol versions the client speaks' }),
    client: NameVersion,
  },
  { ...strict, description: 'first line from the client (and of a problems file)' },
);

export const DeviceSchema = Type.Object(
  {
    name: Type.String({ description: "e.g. 'cpu', 'cuda'" }),
    dtypes: Type.Array(DtypeSchema, { description: 'dtypes every layer kind runs in on this device' }),
    unsupported: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'dtype → why it cannot run here' })),
    description: Type.Optional(Type.String()),
  },
  strict,
);

export const BridgeHelloSchema = Type.Object(
  {
    type: Type.Literal('hello'),
    protocol: Type.Integer({ minimum: 1, description: 'the version chosen from the client’s list' }),
    bridge: NameVersion,
    frameworks: Type.Record(Type.String(), Type.String(), { description: 'framework name → version (and the interpreter’s)' }),
    capabilities: Type.Object(
      {
        devices: Type.Array(DeviceSchema, { minItems: 1 }),
        defaultDevice: Type.String({ description: 'the device of a request that names none' }),
        layers: Type.Array(lit(LAYER_KINDS)),
        forwardValues: Type.Boolean({ description: 'results carry the output of every layer (required for a verdict on routing)' }),
        maxpool: Type.Optional(Type.String({ description: 'what computes maxpool layers, when not the framework’s own operator' })),
      },
      strict,
    ),
  },
  { ...strict, description: 'first line from the bridge (and of a results file)' },
);

export const RunRequestSchema = Type.Object(
  {
    type: Type.Literal('run'),
    id: Type.String({ minLength: 1, description: 'echoed in the result' }),
    dtype: DtypeSchema,
    device: Type.Optional(Type.String({ description: 'default: the bridge’s defaultDevice' })),
    problem: ProblemSchema,
  },
  { ...strict, description: 'compute the gradient of ⟨cotangent, output⟩ and every layer’s output' },
);

export const RunResultSchema = Type.Object(
  {
    type: Type.Literal('result'),
    id: Type.String({ minLength: 1 }),
    dtype: DtypeSchema,
    device: Type.String(),
    forward: Type.Optional(
      Type.Array(TensorSchema, { description: 'forward[i] = output of layer i; required when capabilities.forwardValues' }),
    ),
    grads: Type.Object({ input: TensorSchema, params: Type.Array(ParamsSchema) }, strict),
  },
  strict,
);

export const ERROR_CODES = ['bad-message', 'unsupported', 'failed'] as const;
export const ErrorMessageSchema = Type.Object(
  {
    type: Type.Literal('error'),
    id: Type.Union([Type.String(), Type.Null()], { description: 'the request’s id; null when it could not be read' }),
    error: Type.Object(
      {
        code: lit(ERROR_CODES),
        message: Type.String(),
        field: Type.Optional(Type.String({ description: 'JSON path of the offending field, e.g. problem.layers[1].kernel' })),
      },
      strict,
    ),
  },
  strict,
);

export type Tensor = Static<typeof TensorSchema>;
export type WireLayer = Static<typeof LayerSchema>;
export type WireProblem = Static<typeof ProblemSchema>;
export type ClientHello = Static<typeof ClientHelloSchema>;
export type BridgeHello = Static<typeof BridgeHelloSchema>;
export type DeviceCapability = Static<typeof DeviceSchema>;
export type RunRequest = Static<typeof RunRequestSchema>;
export type RunResult = Static<typeof RunResultSchema>;
export type ErrorMessage = Static<typeof ErrorMessageSchema>;
export type ClientMessage = ClientHello | RunRequest;
export type BridgeMessage = BridgeHello | RunResult | ErrorMessage;

/** The messages each side may send, by `type`. */
export const CLIENT_MESSAGES: Readonly<Record<string, TSchema>> = { hello: ClientHelloSchema, run: RunRequestSchema };
export const BRIDGE_MESSAGES: Readonly<Record<string, TSchema>> = {
  hello: BridgeHelloSchema,
  result: RunResultSchema,
  error: ErrorMessageSchema,
};

/** A TypeBox schema as plain JSON Schema (TypeBox's symbol keys dropped). */
function plain(s: TSchema): unknown {
  return JSON.parse(JSON.stringify(s));
}

/** The published JSON Schema: every message under $defs, and a line of either file as the root. */
export function protocolJsonSchema(): Record<string, unknown> {
  const defs = {
    tensor: TensorSchema,
    problem: ProblemSchema,
    clientHello: ClientHelloSchema,
    bridgeHello: BridgeHelloSchema,
    runRequest: RunRequestSchema,
    runResult: RunResultSchema,
    errorMessage: ErrorMessageSchema,
  };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `urn:adzone:ad-protocol:${PROTOCOL_VERSION}`,
    title: `adzone AD protocol, version ${PROTOCOL_VERSION}`,
    description:
      'One line of the stdio protocol or of a batch file (JSON Lines). Problems file: a clientHello, then runRequests. ' +
      'Results file: a bridgeHello, then one runResult or errorMessage per request. Floats: tensor.bits holds IEEE 754 bit patterns in big-endian hex.',
    oneOf: Object.keys(defs)
      .filter((k) => k !== 'tensor' && k !== 'problem')
      .map((k) => ({ $ref: `#/$defs/${k}` })),
    $defs: Object.fromEntries(Object.entries(defs).map(([k, v]) => [k, plain(v)])),
  };
}

/** schemas/protocol.schema.json's exact text. */
export function protocolSchemaText(): string {
  return `${JSON.stringify(protocolJsonSchema(), null, 2)}\n`;
}
