import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * A python-backend model the server tests serve: Y = X + n (FP32 [2], max_batch_size 4, KIND_CPU),
 * as repository files (`<name>/config.pbtxt`, `<name>/1/model.py`) or as a project's model.py.
 */
export function addModelPy(n: number): string {
  return `import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        out = []
        for request in requests:
            x = pb_utils.get_input_tensor_by_name(request, "X").as_numpy()
            out.append(pb_utils.InferenceResponse([pb_utils.Tensor("Y", (x + ${n}).astype(np.float32))]))
        return out
`;
}

/** The repository files of the add-n model `name`, by path relative to the repository. */
export function addModelFiles(name: string, n: number): Record<string, string> {
  return {
    [`${name}/config.pbtxt`]:
      `name: "${name}"\nbackend: "python"\nmax_batch_size: 4\n` +
      'input [ { name: "X" data_type: TYPE_FP32 dims: [ 2 ] } ]\noutput [ { name: "Y" data_type: TYPE_FP32 dims: [ 2 ] } ]\n' +
      'instance_group [ { kind: KIND_CPU } ]\n',
    [`${name}/1/model.py`]: addModelPy(n),
  };
}

/** Writes `files` (path relative to `root` -> text) under `root`. */
export function writeFiles(root: string, files: Record<string, string>): void {
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  }
}

/** The model.py of the tune tests and benchmark 9: every execute() call costs 20 ms, whatever its batch (Y = 2 X). */
export const SLEEPY_MODEL_PY = join(__dirname, 'fixtures', 'sleepy', 'model.py');

export function sleepyModelPy(): string {
  return readFileSync(SLEEPY_MODEL_PY, 'utf8');
}

/** Its triton.yaml as a user starts: one CPU instance, no dynamic batching, with comments (what tune must keep). */
export const SLEEPY_TRITON_YAML = join(__dirname, 'fixtures', 'sleepy', 'triton.yaml');
