"""Writes the text_scorer ONNX model: mean of token embeddings -> linear -> sigmoid.

Usage: python make_model.py --output model.onnx   (needs the `onnx` and `numpy` packages)
"""

import argparse

import numpy as np
from onnx import TensorProto, checker, helper, numpy_helper, save

VOCAB = 1000
EMBEDDING = 8


def build_model():
    rng = np.random.RandomState(0)  # fixed weights: the same bytes on every build
    embeddings = numpy_helper.from_array(rng.standard_normal((VOCAB, EMBEDDING)).astype(np.float32), "embeddings")
    weight = numpy_helper.from_array(rng.standard_normal((EMBEDDING, 1)).astype(np.float32), "weight")
    bias = numpy_helper.from_array(np.zeros((1,), dtype=np.float32), "bias")

    nodes = [
        helper.make_node("Gather", ["embeddings", "token_ids"], ["embedded"], axis=0),
        helper.make_node("ReduceMean", ["embedded"], ["pooled"], axes=[1], keepdims=0),
        helper.make_node("MatMul", ["pooled", "weight"], ["logit"]),
        helper.make_node("Add", ["logit", "bias"], ["biased"]),
        helper.make_node("Sigmoid", ["biased"], ["score"]),
    ]
    graph = helper.make_graph(
        nodes,
        "text_scorer",
        inputs=[helper.make_tensor_value_info("token_ids", TensorProto.INT64, ["batch", "tokens"])],
        outputs=[helper.make_tensor_value_info("score", TensorProto.FLOAT, ["batch", 1])],
        initializer=[embeddings, weight, bias],
    )
    model = helper.make_model(graph, producer_name="text_scorer", opset_imports=[helper.make_opsetid("", 13)])
    checker.check_model(model)
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    save(build_model(), args.output)


if __name__ == "__main__":
    main()
