"""What an onnxruntime loads: the newest ONNX IR version and the newest opset of ai.onnx and ai.onnx.ml.

The measurements behind lib/releases/onnxruntime.ts. Not run by the test suite (it installs old
onnxruntime wheels from PyPI); to re-measure a version:

    python scripts/probe-onnxruntime.py make /tmp/ort-probe/models          # needs onnx (.venv has it)
    pip install --no-deps --target /tmp/ort-probe/1.16.3 onnxruntime==1.16.3  # Python 3.10 for 1.13/1.14
    PYTHONPATH=/tmp/ort-probe/1.16.3 python scripts/probe-onnxruntime.py probe /tmp/ort-probe/models

`probe` prints one JSON line: the version, the newest IR and opsets each loaded, and ONNX Runtime's
first refusal of each kind (model.cc "Unsupported model IR version", model_load_utils.h
ValidateOpsetForDomain, or a missing kernel).
"""
import json
import os
import sys

IRS = range(7, 15)
OPSETS = {"ai.onnx": range(13, 29), "ai.onnx.ml": range(1, 7)}


def make(out):
    from onnx import TensorProto, helper

    def model(ir, opsets):
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
        graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y])
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets])
        m.ir_version = ir
        return m.SerializeToString()

    os.makedirs(out, exist_ok=True)
    files = {"ir-%d.onnx" % ir: model(ir, [("", 13)]) for ir in IRS}
    files.update({"ai.onnx-%d.onnx" % v: model(8, [("", v)]) for v in OPSETS["ai.onnx"]})
    files.update({"ai.onnx.ml-%d.onnx" % v: model(8, [("", 13), ("ai.onnx.ml", v)]) for v in OPSETS["ai.onnx.ml"]})
    for name, data in files.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


def probe(models):
    import onnxruntime as ort

    def refusal(name):
        try:
            ort.InferenceSession(os.path.join(models, name), providers=["CPUExecutionProvider"])
            return None
        except Exception as exc:  # the runtime's own message is the measurement
            return str(exc).strip().splitlines()[0]

    result = {"onnxruntime": ort.__version__}
    for kind, versions in [("ir", IRS)] + list(OPSETS.items()):
        newest, first = None, None
        for v in versions:
            why = refusal("%s-%d.onnx" % (kind, v))
            if why is None and first is None:
                newest = v
            elif why is not None and first is None:
                first = why
        result[kind] = newest
        result[kind + " refused"] = first
    print(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("make", "probe"):
        sys.exit("usage: probe-onnxruntime.py make|probe DIR")
    {"make": make, "probe": probe}[sys.argv[1]](sys.argv[2])
