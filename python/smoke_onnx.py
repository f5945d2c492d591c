"""A smoke run of an ONNX model that nx-triton did not export from torch (export.command, export.file).

Usage: python smoke_onnx.py <model.onnx> <max_batch_size>

There is no torch module to compare with: the model runs in onnxruntime on seeded inputs at batch 1
and max_batch_size (other dynamic dims at two sizes), and its outputs must have the declared dtypes,
ranks and fixed dims, and be finite. Prints one JSON line: {"skipped": why} when onnxruntime is not
installed, {"cases": [...]} on a pass, {"error": message} on a failure (exit 4).
"""

import json
import sys

EXIT_FAILED = 4
OTHER_SIZES = (16, 9)
SEED = 1

# onnxruntime's type strings -> numpy dtype names.
ORT_TYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(float16)": "float16",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(int16)": "int16",
    "tensor(int8)": "int8",
    "tensor(uint8)": "uint8",
    "tensor(bool)": "bool",
}


def reply(obj, code=0):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.exit(code)


def sizes_for(shape, batched, batch, other):
    out = []
    for i, d in enumerate(shape):
        out.append(int(d) if isinstance(d, int) and d > 0 else (batch if i == 0 and batched else other))
    return out


def values(numpy, rng, dtype, sizes):
    if dtype.startswith("float"):
        return rng.standard_normal(sizes).astype(dtype)
    return numpy.ones(sizes, dtype=dtype)


def main(argv):
    try:
        import numpy
        import onnxruntime
    except ImportError:
        reply({"skipped": "onnxruntime is not installed for %s" % sys.executable})
    path, max_batch = argv[1], int(argv[2])
    try:
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        reply({"error": "onnxruntime cannot load the model: %s" % str(exc).strip().split("\n")[0]}, EXIT_FAILED)
    inputs, outputs = session.get_inputs(), session.get_outputs()
    batched = max_batch > 0
    dynamic = any(not (isinstance(d, int) and d > 0) for i in inputs for d in i.shape)
    batches = sorted(set([1, max_batch])) if batched else [1]
    count = max(len(batches), len(OTHER_SIZES)) if dynamic else 1
    rng = numpy.random.default_rng(SEED)
    cases = []
    for k in range(count):
        feed = {}
        for i in inputs:
            dtype = ORT_TYPES.get(i.type)
            if dtype is None:
                reply({"skipped": "input %s is %s, which the smoke run does not feed" % (i.name, i.type)})
            feed[i.name] = values(numpy, rng, dtype, sizes_for(i.shape, batched, batches[k % len(batches)], OTHER_SIZES[k % len(OTHER_SIZES)]))
        shapes = ", ".join("%s%s" % (n, list(a.shape)) for n, a in feed.items())
        try:
            got = session.run(None, feed)
        except Exception as exc:
            reply({"error": "onnxruntime fails at input shapes %s: %s" % (shapes, str(exc).strip().split("\n")[0])}, EXIT_FAILED)
        case = {"inputs": dict((n, list(a.shape)) for n, a in feed.items()), "outputs": {}}
        for o, value in zip(outputs, got):
            value = numpy.asarray(value)
            want = ORT_TYPES.get(o.type)
            problem = None
            if want is not None and str(value.dtype) != want:
                problem = "is %s, the graph declares %s" % (value.dtype, want)
            elif o.shape is not None and (value.ndim != len(o.shape) or any(isinstance(d, int) and d > 0 and d != s for d, s in zip(o.shape, value.shape))):
                problem = "has shape %s, the graph declares %s" % (list(value.shape), ["?" if not isinstance(d, int) else d for d in o.shape])
            elif value.dtype.kind == "f" and not numpy.all(numpy.isfinite(value)):
                problem = "has %d NaN or Inf element(s)" % int(numpy.count_nonzero(~numpy.isfinite(value)))
            if problem:
                reply({"error": "output %s %s at input shapes %s" % (o.name, problem, shapes)}, EXIT_FAILED)
            case["outputs"][o.name] = list(value.shape)
        cases.append(case)
    reply({"runtime": "onnxruntime %s" % onnxruntime.__version__, "cases": cases})


if __name__ == "__main__":
    main(sys.argv)
