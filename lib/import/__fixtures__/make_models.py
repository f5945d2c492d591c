"""Writes the model files of the import test repository (run with /usr/bin/python3: onnx and torch).

usage: make_models.py <out-dir>
  <out>/classifier_v1.onnx, <out>/classifier_v3.onnx   INPUT0 float[N,4] -> OUTPUT0 float[N,4]
  <out>/external/model.onnx + weights.bin              the same I/O, its weight in an external file
  <out>/linear.pt                                      TorchScript nn.Linear(4, 2)
"""
import os
import struct
import sys

import onnx
from onnx import TensorProto, helper


def io():
    return (
        [helper.make_tensor_value_info("INPUT0", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("OUTPUT0", TensorProto.FLOAT, ["batch", 4])],
    )


def save(graph, path, producer):
    model = helper.make_model(graph, producer_name=producer, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save_model(model, path)
    return model


def main(out):
    inputs, outputs = io()
    for version, op in (("v1", "Relu"), ("v3", "Sigmoid")):
        graph = helper.make_graph([helper.make_node(op, ["INPUT0"], ["OUTPUT0"])], "classifier", inputs, outputs)
        save(graph, os.path.join(out, f"classifier_{version}.onnx"), f"import-test-{version}")

    # raw_data: only raw tensors are moved to external data.
    weight = helper.make_tensor("W", TensorProto.FLOAT, [4], struct.pack("<4f", 0.5, -1.0, 2.0, 0.25), raw=True)
    graph = helper.make_graph([helper.make_node("Add", ["INPUT0", "W"], ["OUTPUT0"])], "external", inputs, outputs, [weight])
    model = helper.make_model(graph, producer_name="import-test-external", opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    os.makedirs(os.path.join(out, "external"), exist_ok=True)
    onnx.save_model(model, os.path.join(out, "external", "model.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)

    import torch

    torch.manual_seed(0)
    traced = torch.jit.trace(torch.nn.Linear(4, 2).eval(), torch.zeros(1, 4))
    traced.save(os.path.join(out, "linear.pt"))


if __name__ == "__main__":
    main(sys.argv[1])
