#!/usr/bin/env bash
# Builds a TensorRT engine for real through nx-triton's `engine` executor and checks that TensorRT
# loads it. Run it on a machine with an NVIDIA GPU and TensorRT's trtexec, e.g. inside NGC's
# TensorRT container:
#   docker run --gpus all --rm -v "$PWD:/src" -w /src nvcr.io/nvidia/tensorrt:24.08-py3 \
#     bash -c 'PATH=/usr/src/tensorrt/bin:$PATH scripts/gpu-smoke.sh'
# Needs node >= 20 and this repository's node_modules (npm ci). Everything is written to a temp dir.
# It checks, on real hardware, what the unit tests can only check with stand-ins:
#   1. nvidia-smi and trtexec's banner parse into a fingerprint;
#   2. the trtexec flags chosen for this TensorRT version are accepted and build a plan;
#   3. the plan header has the `ftrt` magic and this TensorRT's version at bytes 24..26;
#   4. a second build is a store hit (no trtexec run), also after the output dir is deleted;
#   5. `trtexec --loadEngine` deserializes the plan;
#   6. where tritonserver and perf_analyzer are found too (NGC's Triton container with tritonclient
#      2.50.0 or the SDK's perf_analyzer): `nx-triton tune` measures a python model's KIND_GPU
#      instances as GPU instances and tunes their count (skipped, and said so, otherwise).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fail() { echo "gpu-smoke: FAILED: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || { echo "gpu-smoke: $1 not found on PATH: $2" >&2; exit 2; }; }

need node "install Node.js 20 or newer"
need nvidia-smi "this needs an NVIDIA GPU and its driver"
need trtexec "put TensorRT's bin directory on PATH (in NGC's TensorRT container: /usr/src/tensorrt/bin)"

if [ ! -f "$repo/dist/executors/engine/executor.js" ]; then
  echo "gpu-smoke: compiling nx-triton (tsc -p tsconfig.build.json)"
  (cd "$repo" && npx tsc -p tsconfig.build.json)
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/nx-triton-gpu-smoke.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export NX_TRITON_ENGINE_CACHE="$work/store"

echo "gpu-smoke: fingerprint"
node -e '
  require(process.argv[1]).readFingerprint().then((fp) => {
    console.log(require(process.argv[1]).formatFingerprint(fp));
    if (fp.gpu === "no-gpu" || fp.tensorrt === "no-tensorrt") process.exit(1);
  });' "$repo/dist/lib/engine/fingerprint.js" || fail "no GPU or no TensorRT in the fingerprint"

# A workspace with an ONNX model (`smoke_onnx`: x [batch, 4] -> Relu) and a TensorRT model made from it.
mkdir -p "$work/ws/models/smoke_onnx" "$work/ws/models/smoke_trt" "$work/ws/dist/models/smoke_onnx/export"
cp "$repo/lib/engine/__fixtures__/relu_batch.onnx" "$work/ws/models/smoke_onnx/model.onnx"
cp "$repo/lib/engine/__fixtures__/relu_batch.onnx" "$work/ws/dist/models/smoke_onnx/export/model.onnx"
printf 'platform: onnxruntime_onnx\nmax_batch_size: 16\nexport:\n  file: model.onnx\n' >"$work/ws/models/smoke_onnx/triton.yaml"
printf 'platform: tensorrt_plan\nfrom: smoke_onnx\ntensorrt:\n  workspace: 256\n' >"$work/ws/models/smoke_trt/triton.yaml"

run_executor() {
  node -e '
    const [exe, ws] = process.argv.slice(1);
    const context = {
      root: ws, cwd: ws, isVerbose: false, projectName: "smoke_trt", targetName: "engine",
      projectsConfigurations: { version: 2, projects: { smoke_onnx: { root: "models/smoke_onnx" }, smoke_trt: { root: "models/smoke_trt" } } },
      nxJsonConfiguration: {}, projectGraph: { nodes: {}, dependencies: {} },
    };
    require(exe).default({}, context).then((r) => process.exit(r.success ? 0 : 1));
  ' "$repo/dist/executors/engine/executor.js" "$work/ws"
}

plan="$work/ws/dist/models/smoke_trt/engine/model.plan"
echo "gpu-smoke: building the engine (trtexec)"
run_executor | tee "$work/build1.log" || fail "the engine executor failed"
[ -s "$plan" ] || fail "no plan at $plan"
grep -q '&&&& PASSED TensorRT.trtexec' "$work/build1.log" || fail "trtexec did not report PASSED"

echo "gpu-smoke: checking the plan header"
node -e '
  const fs = require("fs");
  const [plan, provenance] = process.argv.slice(1);
  const head = fs.readFileSync(plan).subarray(0, 32);
  const want = JSON.parse(fs.readFileSync(provenance, "utf8")).parts.tensorrt.split(".").slice(0, 3).map(Number);
  const got = [head[24], head[25], head[26]];
  console.log(`magic=${head.toString("latin1", 0, 4)} version bytes=${got.join(".")} trtexec=${want.join(".")}`);
  if (head.toString("latin1", 0, 4) !== "ftrt" || got.join(".") !== want.join(".")) process.exit(1);
' "$plan" "$work/ws/dist/models/smoke_trt/engine/engine.json" || fail "the plan header is not what lib/engine/store.ts expects"

echo "gpu-smoke: a second build must come from the engine store"
rm -rf "$work/ws/dist/models/smoke_trt"
run_executor | tee "$work/build2.log" || fail "the engine executor failed on the second run"
grep -q 'from the engine store' "$work/build2.log" || fail "the second build was not a store hit"
if grep -q '&&&& RUNNING TensorRT.trtexec' "$work/build2.log"; then fail "trtexec ran again on a store hit"; fi

echo "gpu-smoke: trtexec --loadEngine"
trtexec --loadEngine="$plan" --shapes=x:4x4 --iterations=1 --warmUp=0 --duration=0 | tee "$work/load.log" >/dev/null ||
  { tail -n 20 "$work/load.log" >&2; fail "trtexec could not load the plan"; }
grep -q '&&&& PASSED TensorRT.trtexec' "$work/load.log" || fail "trtexec --loadEngine did not report PASSED"

tune_on_gpu() {
  # The tune tests' model (20 ms per call) with one KIND_GPU instance, in a repository of its own.
  mkdir -p "$work/tune/repo/sleepy/1"
  cp "$repo/test/fixtures/sleepy/model.py" "$work/tune/repo/sleepy/1/model.py"
  printf '%s\n' 'name: "sleepy"' 'backend: "python"' 'max_batch_size: 16' \
    'input [ { name: "X" data_type: TYPE_FP32 dims: [ 4 ] } ]' 'output [ { name: "Y" data_type: TYPE_FP32 dims: [ 4 ] } ]' \
    'instance_group [ { kind: KIND_GPU count: 1 } ]' >"$work/tune/repo/sleepy/config.pbtxt"
  node "$repo/dist/cli/main.js" tune "$work/tune/repo" --model sleepy --out "$work/tune/out" \
    --concurrency 16 --latencyBudgetMs 150 --maxCandidates 6 || fail "nx-triton tune failed"
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const kinds = [...new Set(r.candidates.map((c) => c.knobs.kind))];
    console.log(`gpu-smoke: tune: ${r.candidates.length} candidates, kinds ${kinds.join(",")}, winner #${r.winner}, notes: ${r.notes.join("; ") || "none"}`);
    if (r.notes.length || !kinds.includes("KIND_GPU") || r.frozen.some((f) => f.knob === "instance_count") || !r.winner) process.exit(1);
  ' "$work/tune/out/report.json" || fail "tune did not measure and tune GPU instances"
}
if command -v tritonserver >/dev/null 2>&1 && { [ -n "${NX_TRITON_PERF_ANALYZER:-}" ] || command -v perf_analyzer >/dev/null 2>&1; }; then
  echo "gpu-smoke: nx-triton tune on KIND_GPU instances"
  tune_on_gpu
else
  echo "gpu-smoke: tune skipped: it needs tritonserver and perf_analyzer (NGC's Triton container, with perf_analyzer from its SDK or tritonclient 2.50.0)"
fi

echo "gpu-smoke: OK"
