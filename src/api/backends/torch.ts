/**
 * `adzone/backends/torch`: PyTorch as the AD system under test, and the protocol any other process
 * speaks to be one. The bridge (bridges/torch/adzone_torch_bridge.py, shipped in the package) runs
 * torch's own conv2d / relu / max_pool2d over line-delimited JSON on stdio; batch mode writes the
 * problems to a file for a machine with torch and no Node (CUDA float16) and reads its results back.
 */
export {
  /** Start the PyTorch bridge (or answer from a results file); an UnavailableBackend with one line when torch is not found. */
  createTorchBackend,
  /** The bridge script's path in this install: `python3 TORCH_BRIDGE --batch problems.jsonl --out results.jsonl` on another machine. */
  TORCH_BRIDGE,
  /** createTorchBackend's options: python, device, module (FILE.py:Class), results file, timeouts. */
  type TorchBackendOptions,
} from '../../backends/torch.ts';
export {
  /** A bridge process speaking the AD protocol over stdio: handshake (versions, capabilities), runs, errors naming the field. */
  BridgeClient,
  /** BridgeClient.start's options: command, args, label, timeouts, env. */
  type BridgeClientOptions,
  /** The bridge could not be started or broke the protocol (exit 2 in the CLI). */
  BridgeError,
  /** The bridge refused one request (bad-message, unsupported, failed) and stayed up. */
  BridgeRequestError,
} from '../../backends/protocol/client.ts';
export {
  /** An AdBackend over a started BridgeClient: any language's AD system, judged like the engine. */
  bridgeBackend,
  /** An AdBackend answering from a results file a bridge wrote in batch mode. */
  recordedBackend,
} from '../../backends/protocol/backend.ts';
export {
  /** The protocol's version, sent in both handshakes. */
  PROTOCOL_VERSION,
} from '../../backends/protocol/schema.ts';
export {
  /** Write problems drawn from the generators as a batch file (one JSON line each) for a bridge to answer elsewhere. */
  exportBatch,
  /** exportBatch's result: the problems file's text and how many run requests it holds (tie-rule and verify). */
  type BatchExport,
  /** exportBatch's config: samples, seed, generators, precisions, adzone's version. */
  type BatchExportConfig,
} from '../../zones/batch.ts';
