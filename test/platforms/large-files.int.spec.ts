import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { DIST, ensureDist } from '../dist';
import { Workspace } from './workspace';

let ws: Workspace;
beforeAll(() => ensureDist());
beforeEach(() => {
  ws = new Workspace();
});
afterEach(() => ws.dispose());

const GIB = 1024 ** 3;
const DATA_BYTES = 2.5 * GIB;

// The export command writes an ONNX graph whose initializer lives in a 2.5 GiB external-data file,
// made sparse with ftruncate: no disk blocks, yet every byte counts for anything that reads it.
const MAKE_BIG_ONNX = `import os, sys
import onnx
from onnx import TensorProto, helper
out = sys.argv[1]
n = ${DATA_BYTES / 4}
big = TensorProto(name="big", data_type=TensorProto.FLOAT, dims=[n], data_location=TensorProto.EXTERNAL)
for key, value in (("location", "big.bin"), ("offset", "0"), ("length", str(n * 4))):
    entry = big.external_data.add()
    entry.key, entry.value = key, value
graph = helper.make_graph(
    [helper.make_node("Identity", ["x"], ["y"])], "big",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
    initializer=[big],
)
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), out)
with open(os.path.join(os.path.dirname(out), "big.bin"), "wb") as f:
    f.truncate(n * 4)
`;

it('builds a model with a 2.5 GiB (sparse) data file, copied without reading it into memory (never hard-linked)', () => {
  ws.project(
    'big',
    `platform: onnxruntime_onnx
max_batch_size: 4
instance_group: [{ kind: cpu }]
export:
  command: ["/usr/bin/python3", make_big.py, "{output}"]
`,
    { 'make_big.py': MAKE_BIG_ONNX },
  );
  const out = execFileSync(process.execPath, [join(__dirname, '../children/export-and-build.cjs'), DIST, ws.root, 'big'], { encoding: 'utf8' });
  const { before, peak } = JSON.parse(out) as { before: number; peak: number };
  expect(peak - before).toBeLessThan(256 * 1024 ** 2);

  const exported = statSync(join(ws.root, 'dist/models/big/export/big.bin'));
  const entry = statSync(join(ws.repository, 'big/1/model.onnx/big.bin'));
  expect(entry.size).toBe(DATA_BYTES);
  expect(entry.ino).not.toBe(exported.ino);
  expect(entry.nlink).toBe(1);
});
