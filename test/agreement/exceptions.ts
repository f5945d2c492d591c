import type { OracleResult } from '../triton-oracle';
import type { Case } from './cases';

export interface Verdict {
  weRefuse: boolean;
  tritonRefuses: boolean;
}

export type Row = Case & Verdict & { triton: OracleResult };

/**
 * Where `nx-triton validate` and this Triton (nvidia-pytriton's bundle: python backend only, no
 * GPU, run with --disable-auto-complete-config) may disagree, and why. Every other disagreement
 * fails the agreement test. `rows` is every case by id (a config case `c7` of another backend has
 * a python twin `c7_py`, on which Triton reaches the rules it applies once a backend is found).
 */
export interface Exception {
  rule: string;
  applies(row: Row, rows: Map<string, Row>): boolean;
}

const missingBackend = (r: Row) => r.triton.state === 'no-backend';

export const EXCEPTIONS: Exception[] = [
  {
    rule:
      'model files are read by their backend, which the bundle lacks: the ONNX graph against the config (onnxruntime_backend), ' +
      'the TensorRT plan and its header (tensorrt_backend), model files and directories, label files and cc_model_filenames',
    applies: (r) =>
      r.weRefuse && missingBackend(r) && (r.kind === 'files' || r.kind === 'repository' || r.ours.every((o) => /^output\[\d+\]\.label_filename: /.test(o))),
  },
  {
    rule:
      'instance-group rules Triton applies once the backend is found (gpus on KIND_CPU/KIND_MODEL, TensorRT profiles): ' +
      'Triton refuses the same config on its python twin',
    applies: (r, rows) => {
      const twin = rows.get(`${r.id}_py`);
      return r.weRefuse && missingBackend(r) && r.kind === 'config' && !!twin && twin.weRefuse && twin.tritonRefuses;
    },
  },
  {
    rule:
      "TensorRT runs GPU instances only: tensorrt_backend's instance state refuses KIND_CPU and KIND_MODEL " +
      '(issue 12.6); the bundle has no TensorRT backend, and the python twin takes CPU instances',
    applies: (r) => r.weRefuse && missingBackend(r) && r.ours.every((o) => /Triton's TensorRT backend runs GPU instances only/.test(o)),
  },
  {
    rule: 'GPUs: this machine has none, so Triton refuses KIND_GPU instances of the python backend and cannot check GPU ids',
    applies: (r) =>
      (!r.weRefuse && r.tritonRefuses && /has kind KIND_GPU but no GPUs are available/.test(r.triton.error ?? '')) ||
      (r.weRefuse && missingBackend(r) && r.ours.some((o) => /gpu id/.test(o))),
  },
  {
    rule:
      "auto-complete, Triton's default, is the backend's (core AutoCompleteBackendFields; the backend's auto_complete_config): " +
      'a platform taken from default_model_filename, a model without config.pbtxt; the oracle runs with --disable-auto-complete-config',
    applies: (r) => !r.weRefuse && r.tritonRefuses && /unexpected platform type ''|config\.pbtxt: No such file/.test(r.triton.error ?? ''),
  },
  {
    rule:
      'deliberate: a version the version_policy lists that has no directory is refused (Triton loads the others and never serves it)',
    applies: (r) => r.weRefuse && !r.tritonRefuses && r.ours.every((o) => /is listed but there is no version directory/.test(o)),
  },
];
