"""hermes.quiver's way to the same repository as nx-triton's: one script, re-run on every change.

usage: hermes_export.py <repository> <mlp instance count>
"""
import sys

from hermes.quiver import ModelRepository, Platform

import nets

root, count = sys.argv[1], int(sys.argv[2])
# torch's own default exporter since 2.9 (dynamo), as nx-triton uses on this torch; one opset for both.
EXPORT = {"dynamo": True, "opset_version": 18}
# clean=True: a re-run starts over (without it, add() fails with "Model mlp already exists").
repo = ModelRepository(root, clean=True)

mlp = repo.add("mlp", platform=Platform.ONNX)
# No max_batch_size: hermes 0.3.1 drops `mlp.config.max_batch_size = 64` (its ModelConfig has a
# __getattr__ and no __setattr__), and its ONNX exporter writes the batch dim into dims anyway.
mlp.config.add_instance_group(kind="cpu", count=count)
mlp.export_version(nets.mlp(), input_shapes={"x": (None, 256)}, output_names=["y"], **EXPORT)

resnet = repo.add("resnet18", platform=Platform.ONNX)
resnet.config.add_instance_group(kind="cpu", count=1)
resnet.export_version(nets.resnet18(), input_shapes={"x": (None, 3, 224, 224)}, output_names=["logits"], **EXPORT)
