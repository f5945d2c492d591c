#!/usr/bin/env bash
# The project's Python environment, made from scratch on a fresh Debian machine (run as root):
#   - Debian's /usr/bin/python3 with python3-torch 1.13, the oldest torch we support and test;
#   - .venv/, a virtual environment of that same interpreter with a torch 2.x from PyPI, onnx,
#     onnxscript, onnxruntime (the dynamo exporter and the fidelity gate), nvidia-pytriton (the real
#     tritonserver and its python backend) and tritonclient, with tritonclient 2.50.0's perf_analyzer
#     (scripts/requirements-perf-analyzer.txt, installed without its dependencies).
# Idempotent: a complete .venv (its stamp matches requirements) is left as it is. pip keeps wheels in
# its cache, so a re-run after `rm -rf .venv` downloads nothing. Prints the time it took.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS

debs=(python3-torch python3-onnx python3-torchvision python3-venv python3-pip libpython3.11 protobuf-compiler libonnx-testdata git libb64-0d)
# awscli: benchmark 8's baseline (`aws s3 sync` to the same SeaweedFS as `nx-triton deploy`).
debs+=(awscli)
if ! dpkg -s "${debs[@]}" >/dev/null 2>&1; then
  echo "setup-python: installing Debian packages: ${debs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${debs[@]}" >/dev/null
fi

# .venv-torch1/: Debian's torch 1.13 (system site packages) plus onnxruntime, which Debian does not
# package: the fidelity gate runs the exported ONNX in the interpreter that exported it.
torch1=.venv-torch1
if ! "$torch1/bin/python" -c 'import onnxruntime' >/dev/null 2>&1; then
  rm -rf "$torch1"
  /usr/bin/python3 -m venv --system-site-packages "$torch1"
  # --no-deps: onnxruntime's wheel dependencies would shadow Debian's numpy and protobuf.
  "$torch1/bin/python" -m pip install -q --progress-bar off --no-deps "$(grep '^onnxruntime==' scripts/requirements-dev.txt)"
  echo "setup-python: $torch1 has Debian's torch 1.13 and onnxruntime"
fi

# The venv is made from Debian's interpreter: the python backend's stub needs its libpython3.11.so,
# which pyenv's static builds lack.
venv=.venv
req=scripts/requirements-dev.txt
perf=scripts/requirements-perf-analyzer.txt
stamp="$venv/.nx-triton-requirements"
if [ -f "$stamp" ] && cat "$req" "$perf" | cmp -s "$stamp" -; then
  echo "setup-python: $venv is up to date ($("$venv/bin/python" -c 'import torch; print("torch", torch.__version__)'))"
  exit 0
fi
rm -rf "$venv"
/usr/bin/python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
echo "setup-python: installing $req into $venv (torch from PyPI is the CUDA build: several GB the first time)"
"$venv/bin/python" -m pip install -q --progress-bar off -r "$req"
# pip cannot resolve it with the rest (its grpc extra pins protobuf<5): see the file.
"$venv/bin/python" -m pip install -q --progress-bar off --no-deps -r "$perf"
cat "$req" "$perf" > "$stamp"
"$venv/bin/python" -c 'import torch, onnx, onnxscript, onnxruntime; print("setup-python: torch", torch.__version__, "onnx", onnx.__version__, "onnxscript", onnxscript.__version__, "onnxruntime", onnxruntime.__version__)'
echo "setup-python: done in $((SECONDS - start)) s"
