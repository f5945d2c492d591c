import type { ExpectedGraph } from '../check';
import type { ModelSpec } from '../../model-spec/types';

/** What a source's `run` gets: the model, its section of `export:`, and where to write. */
export interface SourceRun<S> {
  spec: ModelSpec;
  /** The source's own key under `export:`, as the checker gave it. */
  source: S;
  /** The staged path of the model file (or directory) to write. */
  output: string;
  /** The configured interpreter (NX_TRITON_PYTHON, the `python` option, python3). */
  python: string;
  /** The source's own output, line by line. */
  onLine: (line: string) => void;
}

export interface SourceResult {
  /** For the log line: `torch net:build (onnx via dynamo, torch 2.15.0; verified at 3 input sizes, ...)`. */
  what: string;
  /** The triton.yaml key problems with the result are placed at. */
  key: string;
  /** The ONNX graph the source promised (checked after the run). */
  expected?: ExpectedGraph;
  /** The source compared the model with its origin itself (the torch gate): no smoke run after it. */
  gated: boolean;
}

/** One way of making a model file: its keys are declared in lib/model-spec/plugin-keys.ts (EXPORT_SOURCES). */
export interface ExportSource<S> {
  run(r: SourceRun<S>): Promise<SourceResult>;
}
