"""Reference answers from the `onnx` package for lib/onnx's tests (run with /usr/bin/python3).

  dump                   stdin: JSON list of model paths; stdout: JSON list, one entry per path:
                         {"ok": true, "signature": {...}} or {"ok": false, "error": "..."}
  make-external DIR MODE writes DIR/model.onnx whose weights live outside it; MODE is
                         "one-file" (all in weights.bin) or "per-tensor" (a file per tensor)
  make-nested DIR SCALE  writes DIR/model.onnx: x -> If(cond) whose branches hold Constant nodes
                         (one of them inside a Loop body in the else branch) with their data in
                         then.bin, loop.bin, else.bin, and a sparse Constant with its values in
                         sparse.bin; SCALE multiplies the constants' values
  make-initializer-input FILE
                         writes FILE: y = x + bias, where bias [4] is an initializer that is also
                         a graph input (an overridable initializer, as in Triton's QA
                         L0_initializer_as_input)
  make-elementwise FILE Add|Abs
                         writes FILE: sum = x + y, or y = |x|, FLOAT [3, 4, 5]
The unit tests' committed fixtures (lib/repository/rules/__fixtures__/{add,abs,initializer-input}.onnx)
were made with the last two.
"""
import json
import sys

import numpy as np
import onnx
from onnx import TensorProto, external_data_helper, helper, numpy_helper


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


def sparse_locations(s):
    return external_locations(s.values) + external_locations(s.indices)


def attribute_locations(a):
    out = external_locations(a.t) if a.HasField("t") else []
    if a.HasField("g"):
        out += graph_locations(a.g)
    for t in a.tensors:
        out += external_locations(t)
    for g in a.graphs:
        out += graph_locations(g)
    if a.HasField("sparse_tensor"):
        out += sparse_locations(a.sparse_tensor)
    for s in a.sparse_tensors:
        out += sparse_locations(s)
    return out


def nodes_locations(nodes):
    return [loc for n in nodes for a in n.attribute for loc in attribute_locations(a)]


def graph_locations(g):
    """Every tensor's external file, in the order of the wire (fields by number), at any depth."""
    out = nodes_locations(g.node)
    for t in g.initializer:
        out += external_locations(t)
    for s in g.sparse_initializer:
        out += sparse_locations(s)
    return out


def model_locations(m):
    out = graph_locations(m.graph)
    for t in m.training_info:
        out += graph_locations(t.initialization) + graph_locations(t.algorithm)
    for f in m.functions:
        out += nodes_locations(f.node) + [loc for a in f.attribute_proto for loc in attribute_locations(a)]
    return out


def signature(path):
    m = onnx.load(path, load_external_data=False)
    g = m.graph
    inits = {t.name for t in g.initializer} | {s.values.name for s in g.sparse_initializer}
    external = model_locations(m)
    return {
        "irVersion": m.ir_version,
        "opsets": [{"domain": o.domain, "version": o.version} for o in m.opset_import],
        "producerName": m.producer_name,
        "producerVersion": m.producer_version,
        "graphName": g.name,
        "inputs": [tensor(v) for v in g.input if v.name not in inits],
        "overridableInputs": [tensor(v) for v in g.input if v.name in inits],
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


def make_nested(out_dir, scale):
    """External data only below the main graph: in If branches, a Loop body and Constant nodes."""
    scale = float(scale)

    def constant(name, location, values):
        t = numpy_helper.from_array(np.asarray(values, dtype=np.float32) * scale, name)
        node = helper.make_node("Constant", [], [name], value=t)
        return node, location

    then_c, then_loc = constant("then_w", "then.bin", np.arange(1024).reshape(2, 512))
    loop_c, loop_loc = constant("loop_w", "loop.bin", np.ones((2, 512)))
    body = helper.make_graph(
        [loop_c, helper.make_node("Add", ["acc_in", "loop_w"], ["acc_out"]), helper.make_node("Identity", ["cond_in"], ["cond_out"])],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_in", TensorProto.FLOAT, [2, 512]),
        ],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []), helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, [2, 512])],
    )
    else_c, else_loc = constant("else_w", "else.bin", np.full((2, 512), 2.0))
    trip = numpy_helper.from_array(np.array(3, dtype=np.int64), "trip")
    true = numpy_helper.from_array(np.array(True), "true")
    sparse_values = numpy_helper.from_array(np.arange(300, dtype=np.float32) * scale, "sparse_values")
    sparse_indices = numpy_helper.from_array(np.arange(300, dtype=np.int64), "sparse_indices")
    sparse = helper.make_sparse_tensor(sparse_values, sparse_indices, [1024])
    else_branch = helper.make_graph(
        [
            else_c,
            helper.make_node("Constant", [], ["trip"], value=trip),
            helper.make_node("Constant", [], ["true"], value=true),
            helper.make_node("Loop", ["trip", "true", "else_w"], ["looped"], body=body),
            helper.make_node("Constant", [], ["s"], sparse_value=sparse),
            helper.make_node("Reshape", ["s", "shape"], ["s2"]),
            helper.make_node("Add", ["looped", "s2"], ["z"]),
        ],
        "else",
        [],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [2, 512])],
        [numpy_helper.from_array(np.array([2, 512], dtype=np.int64), "shape")],
    )
    then_branch = helper.make_graph(
        [then_c, helper.make_node("Identity", ["then_w"], ["z"])],
        "then",
        [],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [2, 512])],
    )
    graph = helper.make_graph(
        [
            helper.make_node("If", ["cond"], ["z"], then_branch=then_branch, else_branch=else_branch),
            helper.make_node("Add", ["x", "z"], ["y"]),
        ],
        "nested",
        [helper.make_tensor_value_info("cond", TensorProto.BOOL, [1]), helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 512])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 512])],
    )
    model = helper.make_model(graph, producer_name="onnx-testdata", opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    # onnx's own writer moves the dense tensors: each Constant's data into its own file.
    locations = {"then_w": then_loc, "loop_w": loop_loc, "else_w": else_loc}
    for t in external_data_helper._get_all_tensors(model):
        if t.name in locations:
            external_data_helper.set_external_data(t, locations[t.name])
    # Sparse tensors it leaves alone: their values go to sparse.bin by hand, as another writer might.
    with open(f"{out_dir}/sparse.bin", "wb") as f:
        f.write(sparse_values.raw_data)
    else_graph = next(a.g for a in model.graph.node[0].attribute if a.name == "else_branch")
    vals = next(n for n in else_graph.node if n.output[0] == "s").attribute[0].sparse_tensor.values
    external_data_helper.set_external_data(vals, "sparse.bin")
    vals.ClearField("raw_data")
    onnx.save_model(model, f"{out_dir}/model.onnx", save_as_external_data=True, all_tensors_to_one_file=False, size_threshold=1 << 30)


def make_initializer_input(path):
    bias = numpy_helper.from_array(np.ones((4,), dtype=np.float32), "bias")
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "bias"], ["y"])],
        "init_as_input",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4]), helper.make_tensor_value_info("bias", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
        [bias],
    )
    model = helper.make_model(graph, producer_name="onnx-testdata", opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save_model(model, path)


def make_elementwise(path, op):
    """x (and y for Add) FLOAT [3, 4, 5] -> one output of the same shape: the unit tests' small committed fixtures."""
    names = ["x", "y"] if op == "Add" else ["x"]
    out = "sum" if op == "Add" else "y"
    graph = helper.make_graph(
        [helper.make_node(op, names, [out])],
        op.lower(),
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [3, 4, 5]) for n in names],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, [3, 4, 5])],
    )
    model = helper.make_model(graph, producer_name="nx-triton-fixtures", opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save_model(model, path)


if __name__ == "__main__":
    if sys.argv[1] == "dump":
        dump()
    elif sys.argv[1] == "make-external":
        make_external(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "make-nested":
        make_nested(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "make-initializer-input":
        make_initializer_input(sys.argv[2])
    elif sys.argv[1] == "make-elementwise":
        make_elementwise(sys.argv[2], sys.argv[3])
    else:
        sys.exit(f"unknown command {sys.argv[1]}")
