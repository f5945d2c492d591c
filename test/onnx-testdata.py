"""Reference answers from the `onnx` package for lib/onnx's tests (run with /usr/bin/python3).

  dump                   stdin: JSON list of model paths; stdout: JSON list, one entry per path:
                         {"ok": true, "signature": {...}} or {"ok": false, "error": "..."}
  make-external DIR MODE writes DIR/model.onnx whose weights live outside it; MODE is
                         "one-file" (all in weights.bin) or "per-tensor" (a file per tensor)
"""
import json
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def dim(d):
    which = d.WhichOneof("value")
    return d.dim_value if which == "dim_value" else d.dim_param if which == "dim_param" else None


def tensor(v):
    if v.type.WhichOneof("value") != "tensor_type":
        return {"name": v.name, "elemType": 0, "shape": None}
    t = v.type.tensor_type
    shape = [dim(d) for d in t.shape.dim] if t.HasField("shape") else None
    return {"name": v.name, "elemType": t.elem_type, "shape": shape}


def external_locations(t):
    if t.data_location != TensorProto.EXTERNAL:
        return []
    locations = [e.value for e in t.external_data if e.key == "location"]
    return locations[-1:]


def signature(path):
    m = onnx.load(path, load_external_data=False)
    g = m.graph
    inits = {t.name for t in g.initializer} | {s.values.name for s in g.sparse_initializer}
    external = []
    for t in g.initializer:
        external += external_locations(t)
    for s in g.sparse_initializer:
        external += external_locations(s.values) + external_locations(s.indices)
    return {
        "irVersion": m.ir_version,
        "opsets": [{"domain": o.domain, "version": o.version} for o in m.opset_import],
        "producerName": m.producer_name,
        "producerVersion": m.producer_version,
        "graphName": g.name,
        "inputs": [tensor(v) for v in g.input if v.name not in inits],
        "outputs": [tensor(v) for v in g.output],
        "externalData": list(dict.fromkeys(external)),
    }


def dump():
    results = []
    for path in json.load(sys.stdin):
        try:
            results.append({"ok": True, "signature": signature(path)})
        except Exception as e:  # a broken file: the test expects our reader to fail too
            results.append({"ok": False, "error": f"{type(e).__name__}: {e}"})
    json.dump(results, sys.stdout)


def make_external(out_dir, mode):
    w1 = numpy_helper.from_array(np.arange(4096, dtype=np.float32).reshape(64, 64), "w1")
    w2 = numpy_helper.from_array(np.ones((64,), dtype=np.float32), "w2")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w1"], ["h"]), helper.make_node("Add", ["h", "w2"], ["y"])],
        "ext",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 64])],
        [w1, w2],
    )
    model = helper.make_model(graph, producer_name="onnx-testdata", opset_imports=[helper.make_opsetid("", 13)])
    one_file = mode == "one-file"
    onnx.save_model(
        model,
        f"{out_dir}/model.onnx",
        save_as_external_data=True,
        all_tensors_to_one_file=one_file,
        location="weights.bin" if one_file else None,
        size_threshold=0,
    )


if __name__ == "__main__":
    if sys.argv[1] == "dump":
        dump()
    elif sys.argv[1] == "make-external":
        make_external(sys.argv[2], sys.argv[3])
    else:
        sys.exit(f"unknown command {sys.argv[1]}")
