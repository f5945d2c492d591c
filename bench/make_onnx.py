"""Writes a large ONNX model for the benchmarks without holding it in memory.

A chain of MatMul(X, W_i) (+ Add(..., B) at the end) with `tensors` FLOAT weights of D x D each, so
that a runtime must load every weight. The protobuf bytes are written field by field (fields of a
message may come in any order), the weights streamed in chunks: a 1 GiB model needs ~40 MiB here.

  --external DIR   Triton's directory form: DIR/model.onnx (graph) + DIR/weights.bin (data)
  --out FILE       one file with the weights inside (must stay under protobuf's 2 GiB)

Run with /usr/bin/python3 (it has onnx and numpy).
"""
import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def ld(field, length):
    """Tag and length of a length-delimited field."""
    return varint((field << 3) | 2) + varint(length)


def write_weights(f, d, seed):
    """D x D float32 values, written 256 rows at a time."""
    rng = np.random.default_rng(seed)
    scale = np.float32(1.0 / np.sqrt(d))
    for _ in range(0, d, 256):
        f.write((rng.standard_normal((256, d), dtype=np.float32) * scale).tobytes())


def weight_head(name, d):
    """A FLOAT [d, d] TensorProto without its data."""
    t = TensorProto()
    t.name = name
    t.data_type = TensorProto.FLOAT
    t.dims.extend([d, d])
    return t


def graph_proto(d, n, initializers):
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", d])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", d])
    nodes, prev = [], "input"
    for i in range(n):
        out = "output" if i == n - 1 else f"h{i}"
        nodes.append(helper.make_node("MatMul", [prev, f"w{i}"], [out], name=f"matmul{i}"))
        prev = out
    return helper.make_graph(nodes, "bench_chain", [x], [y], initializer=initializers)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mib", type=int, required=True, help="total weight size in MiB")
    p.add_argument("--tensors", type=int, default=4)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--out")
    g.add_argument("--external")
    a = p.parse_args()

    per = a.mib * 2**20 // a.tensors
    d = int(round((per / 4) ** 0.5))
    d -= d % 256
    nbytes = d * d * 4
    opset = [helper.make_opsetid("", 13)]

    if a.external:
        os.makedirs(a.external, exist_ok=True)
        inits = []
        with open(os.path.join(a.external, "weights.bin"), "wb") as f:
            for i in range(a.tensors):
                t = weight_head(f"w{i}", d)
                t.data_location = TensorProto.EXTERNAL
                for k, v in (("location", "weights.bin"), ("offset", str(i * nbytes)), ("length", str(nbytes))):
                    e = t.external_data.add()
                    e.key, e.value = k, v
                inits.append(t)
                write_weights(f, d, i)
        model = helper.make_model(graph_proto(d, a.tensors, inits), opset_imports=opset, producer_name="nx-triton-bench")
        model.ir_version = 8
        with open(os.path.join(a.external, "model.onnx"), "wb") as f:
            f.write(model.SerializeToString())
        return

    heads = []
    for i in range(a.tensors):
        heads.append(weight_head(f"w{i}", d).SerializeToString())
    tensor_len = [len(h) + len(ld(9, nbytes)) + nbytes for h in heads]
    graph = graph_proto(d, a.tensors, []).SerializeToString()
    graph_len = len(graph) + sum(len(ld(5, n)) + n for n in tensor_len)
    model = helper.make_model(onnx.GraphProto(), opset_imports=opset, producer_name="nx-triton-bench")
    model.ir_version = 8
    model.ClearField("graph")
    tmp = a.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(model.SerializeToString())
        f.write(ld(7, graph_len))
        f.write(graph)
        for i, (head, n) in enumerate(zip(heads, tensor_len)):
            f.write(ld(5, n))
            f.write(head)
            f.write(ld(9, nbytes))  # raw_data
            write_weights(f, d, i)
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
