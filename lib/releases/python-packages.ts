/**
 * The Python packages nx-triton's helpers use, the oldest version of each that they need, and what
 * for. One table: python/requirements.txt (what users install) lists the same minimums (a test ties
 * them), the export checks them before it starts (python/export_torch.py `require`), and
 * `nx-triton doctor` reports them. Minimums are the versions the suite runs (Debian's torch 1.13
 * and onnx 1.12 for the TorchScript-based exporter; torch 2.5 for `torch.onnx.export(dynamo=True)`,
 * onnxscript for the dynamo exporter) or the oldest known to carry what is used.
 */
export interface PythonPackage {
  /** The distribution's name on PyPI. */
  name: string;
  /** The oldest version nx-triton's helpers take. */
  minimum: string;
  /** What needs it (for messages and `doctor`). */
  purpose: string;
  /** Only some models need it (nvidia-pytriton: `serve` without a full Triton). */
  optional?: true;
}

export const PYTHON_PACKAGES: readonly PythonPackage[] = [
  { name: 'torch', minimum: '1.13', purpose: 'export.torch' },
  { name: 'numpy', minimum: '1.21', purpose: 'example inputs and the fidelity gate' },
  { name: 'onnx', minimum: '1.12', purpose: "torch's ONNX exporters (onnxruntime_onnx and tensorrt_plan models)" },
  { name: 'onnxscript', minimum: '0.1', purpose: 'the dynamo exporter (torch 2.9+ default)' },
  { name: 'onnxruntime', minimum: '1.16', purpose: 'the fidelity gate of ONNX exports and smoke runs' },
  { name: 'nvidia-pytriton', minimum: '0.5', purpose: 'serve and tune without NGC\'s Triton (a tritonserver with the python backend)', optional: true },
];

/** The version the dynamo exporter needs of torch (torch.onnx.export(dynamo=True)). */
export const DYNAMO_TORCH = '2.5';

/** `{ torch: '1.13', ... }`: the minimums the export helper checks. */
export function packageMinimums(): Record<string, string> {
  return Object.fromEntries(PYTHON_PACKAGES.map((p) => [p.name, p.minimum]));
}
