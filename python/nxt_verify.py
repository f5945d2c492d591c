"""The fidelity gate of nx-triton's torch export: the exported model against the torch module.

Both run on the same seeded inputs (or the arrays of verify.samples) at two or more sizes of every
dynamic dim; the outputs' count, shapes, dtypes and finiteness are checked, then every element: it
fails when it exceeds both the absolute and the relative tolerance (Polygraphy's rule).
"""

import base64
import re

import numpy

from nxt_errors import UserError
from nxt_outputs import flatten
from nxt_values import check_array, show_shape

# Per output dtype: (atol, rtol) unless verify.atol / verify.rtol say otherwise. Integer and bool
# outputs must be equal. fp32 is tighter than a half-precision model can be, looser than
# Polygraphy's 1e-5 / 1e-5: onnxruntime's kernels reorder fp32 sums.
DEFAULT_TOLERANCES = {
    "float64": (1e-4, 1e-3),
    "float32": (1e-4, 1e-3),
    "float16": (1e-2, 1e-2),
    "bfloat16": (1e-2, 1e-2),
}
# Sizes of dynamic dims that are not the batch dim (verify.dim_sizes): the export's example size and another.
OTHER_SIZES = (16, 9)
SEED = 1


def dtype_name(value):
    return str(value.dtype).replace("torch.", "")


def flat_outputs(torch, result):
    return [t for _, t in flatten(torch, result, "export.torch.model", "the model")]


def verify_cases(specs, batch_sizes, dim_sizes=OTHER_SIZES):
    """The sizes of every input per case: each batch size once, every other dynamic dim at each of `dim_sizes`."""
    count = max(len(batch_sizes), len(dim_sizes)) if any(None in s.shape for s in specs) else 1
    cases = []
    for k in range(count):
        batch = batch_sizes[k % len(batch_sizes)]
        other = dim_sizes[k % len(dim_sizes)]
        sizes = {}
        for s in specs:
            if s.array is not None and k == 0:
                sizes[s.name] = list(s.array.shape)
            else:
                sizes[s.name] = [
                    (batch if s.is_batch_dim(i) else other) if d is None else int(d) for i, d in enumerate(s.shape)
                ]
        cases.append(sizes)
    return cases


def load_samples(torch, specs, samples):
    """verify.samples: an .npz with one array per input name; they replace the seeded values."""
    key = "verify.samples"
    try:
        data = numpy.load(samples["path"], allow_pickle=False)
        arrays = {name: data[name] for name in data.files}
    except Exception as exc:
        raise UserError(key, "%s is not a readable .npz file: %s" % (samples["shown"], exc))
    names = [s.name for s in specs]
    missing = [n for n in names if n not in arrays]
    extra = sorted(n for n in arrays if n not in names)
    if missing or extra:
        raise UserError(
            key,
            "%s must hold one array per input [%s]; %s"
            % (samples["shown"], ", ".join(names), "; ".join(
                (["missing: " + ", ".join(missing)] if missing else []) + (["not an input: " + ", ".join(extra)] if extra else [])
            )),
        )
    for s in specs:
        check_array(s, arrays[s.name], key, "%s[%s]" % (samples["shown"], s.name))
        s.array = arrays[s.name]


class Runner(object):
    """The exported model, run on torch tensors; returns numpy arrays (or raises)."""

    def __init__(self, torch, fmt, path, by_name):
        self.torch = torch
        self.fmt = fmt
        self.by_name = by_name
        if fmt == "onnx":
            import onnxruntime

            self.name = "onnxruntime %s" % onnxruntime.__version__
            options = onnxruntime.SessionOptions()
            options.log_severity_level = 4  # its errors come back as exceptions, shown in the table
            # Threads that spin between runs only steal the CPU from torch in this process.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self.session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        else:
            self.name = "torch.jit.load (torch %s)" % torch.__version__
            self.module = torch.jit.load(path, map_location="cpu")

    def run(self, inputs):
        if self.fmt == "onnx":
            feed = {name: t.numpy() for name, t in inputs.items()}
            return [numpy.asarray(o) for o in self.session.run(None, feed)]
        with self.torch.no_grad():
            result = self.module(**inputs) if self.by_name else self.module(*inputs.values())
            return [to_numpy(self.torch, o) for o in flat_outputs(self.torch, result)]


def to_numpy(torch, tensor):
    if not isinstance(tensor, torch.Tensor):
        return numpy.asarray(tensor)
    if tensor.dtype == torch.bfloat16:
        return tensor.float().numpy()
    return tensor.detach().numpy()


def compare(name, ref, got, ref_dtype, atol, rtol):
    """One output at one case: a row of the report."""
    row = {"output": name, "shape": list(ref.shape), "dtype": ref_dtype}
    got_dtype = str(got.dtype) if ref_dtype != "bfloat16" else ref_dtype
    if got_dtype != ref_dtype:
        row["problem"] = "dtype %s, torch gives %s" % (got_dtype, ref_dtype)
        return row
    if list(got.shape) != list(ref.shape):
        row["problem"] = "shape %s, torch gives %s" % (list(got.shape), list(ref.shape))
        return row
    if ref.dtype.kind in "biu":
        bad = int(numpy.count_nonzero(got != ref))
        row.update(max_abs_err=float(numpy.max(numpy.abs(got.astype(numpy.float64) - ref))) if ref.size else 0.0, max_rel_err=None, failing=bad)
        return row
    ref64 = ref.astype(numpy.float64)
    got64 = got.astype(numpy.float64)
    if not numpy.all(numpy.isfinite(ref64)):
        row["problem"] = "torch's own output has NaN or Inf on these inputs"
        return row
    if not numpy.all(numpy.isfinite(got64)):
        row["problem"] = "%d NaN or Inf element(s)" % int(numpy.count_nonzero(~numpy.isfinite(got64)))
        return row
    diff = numpy.abs(got64 - ref64)
    rel = diff / numpy.maximum(numpy.abs(ref64), numpy.finfo(numpy.float64).tiny)
    failing = int(numpy.count_nonzero((diff > atol) & (diff > rtol * numpy.abs(ref64))))
    row.update(
        max_abs_err=round_sig(float(diff.max()) if diff.size else 0.0),
        max_rel_err=round_sig(float(rel.max()) if rel.size else 0.0),
        failing=failing,
    )
    return row


def round_sig(x):
    return float("%.3g" % x)


def tolerances(verify, dtype):
    atol, rtol = DEFAULT_TOLERANCES.get(dtype, (0.0, 0.0))
    if dtype in DEFAULT_TOLERANCES:
        if verify.get("atol") is not None:
            atol = float(verify["atol"])
        if verify.get("rtol") is not None:
            rtol = float(verify["rtol"])
    return atol, rtol


def run_gate(torch, model, specs, fmt, path, output_names, verify, what, by_name):
    """Runs the gate; returns verify.json's content, or raises a UserError with the table."""
    if verify.get("samples"):
        load_samples(torch, specs, verify["samples"])
    batch_sizes = verify.get("batch_sizes") or [1]
    dim_sizes = verify.get("dim_sizes") or OTHER_SIZES
    generator = torch.Generator().manual_seed(SEED)
    # torch first, then the exported model: onnxruntime's spinning threads would slow torch's.
    runs = []
    for sizes in verify_cases(specs, batch_sizes, dim_sizes):
        inputs = dict((s.name, s.tensor(torch, sizes[s.name], generator)) for s in specs)
        shapes = ", ".join("%s%s" % (n, list(t.shape)) for n, t in inputs.items())
        try:
            with torch.no_grad():
                reference = flat_outputs(torch, model(**inputs) if by_name else model(*inputs.values()))
        except UserError:
            raise
        except Exception as exc:
            raise UserError(
                "verify",
                "%s fails at input shapes %s, sizes the gate runs the dynamic dims at (verify.batch_sizes, verify.dim_sizes; "
                "a dim the model cannot take other sizes of belongs in input_shapes as a fixed dim): %s" % (what, shapes, one_line(exc)),
            )
        runs.append((inputs, [(dtype_name(r), to_numpy(torch, r)) for r in reference]))
    runner = Runner(torch, fmt, path, by_name)
    cases = []
    failed = False
    for inputs, reference in runs:
        case = {"inputs": dict((n, list(t.shape)) for n, t in inputs.items()), "outputs": []}
        cases.append(case)
        try:
            exported = runner.run(inputs)
        except Exception as exc:
            failed = True
            case["error"] = "%s failed: %s" % (runner.name, one_line(exc))
            continue
        if len(exported) != len(reference):
            failed = True
            case["error"] = "%d output(s), torch gives %d" % (len(exported), len(reference))
            continue
        for name, (ref_dtype, ref), got in zip(output_names, reference, exported):
            atol, rtol = tolerances(verify, ref_dtype)
            row = compare(name, ref, got, ref_dtype, atol, rtol)
            row["atol"], row["rtol"] = atol, rtol
            failed = failed or "problem" in row or row["failing"] > 0
            case["outputs"].append(row)
    record = {"format": fmt, "runtime": runner.name, "seed": SEED, "cases": cases}
    sample = sample_of(runs[0], output_names, verify) if runs else None
    if sample:
        record["sample"] = sample
    if failed:
        raise UserError("verify", failure_table(record, fmt))
    return record


# The first case's inputs and torch's outputs, for nx-triton deploy's smoke inference: it sends the
# inputs to the served model and compares the answer with the outputs (lib/deploy/smoke.ts reads
# this: raw little-endian bytes in base64, Triton's datatype names). Left out when a tensor has a
# type Triton's JSON requests cannot carry, or when the tensors are large.
SAMPLE_MAX_BYTES = 4 << 20
TRITON_DATATYPES = {
    "bool": "BOOL", "uint8": "UINT8", "int8": "INT8", "int16": "INT16", "int32": "INT32", "int64": "INT64",
    "float16": "FP16", "float32": "FP32", "float64": "FP64",
}


def sample_of(run, output_names, verify):
    inputs, reference = run
    if any(dtype_name(t) == "bfloat16" for t in inputs.values()):
        return None
    tensors = [(name, t.detach().cpu().numpy(), None) for name, t in inputs.items()]
    outputs = [(name, array, dtype) for name, (dtype, array) in zip(output_names, reference)]
    if len(outputs) != len(reference):
        return None
    total = 0
    sample = {"inputs": [], "outputs": []}
    for kind, items in (("inputs", tensors), ("outputs", outputs)):
        for name, array, ref_dtype in items:
            array = numpy.asarray(array)
            datatype = TRITON_DATATYPES.get(str(array.dtype))
            if datatype is None or (ref_dtype is not None and ref_dtype != str(array.dtype)):
                return None
            raw = numpy.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
            total += len(raw)
            if total > SAMPLE_MAX_BYTES:
                return None
            entry = {"name": name, "datatype": datatype, "shape": [int(d) for d in array.shape], "data": base64.b64encode(raw).decode("ascii")}
            if kind == "outputs":
                entry["atol"], entry["rtol"] = tolerances(verify, ref_dtype)
            sample[kind].append(entry)
    return sample


# onnxruntime's messages carry the C++ source location and check that failed: not for users.
ORT_SOURCE = re.compile(r"Status Message: \S+:\d+ .*? was false\. ")


def one_line(exc):
    text = str(exc).strip().split("\n")
    return "%s: %s" % (type(exc).__name__, ORT_SOURCE.sub("", text[0]) if text else "")


def fmt_err(x):
    return "-" if x is None else "%.3g" % x


def failure_table(record, fmt):
    kind = "ONNX" if fmt == "onnx" else "TorchScript module"
    lines = [
        "the exported %s does not match the torch module (%s; seeded inputs, seed %d; an element fails when it exceeds both atol and rtol x |torch|):"
        % (kind, record["runtime"], record["seed"])
    ]
    header = ("output", "input shapes", "max abs err", "max rel err", "failing", "atol", "rtol")
    rows = []
    for case in record["cases"]:
        shapes = ", ".join("%s%s" % (n, s) for n, s in case["inputs"].items())
        if "error" in case:
            rows.append(("*", shapes, case["error"], "", "", "", ""))
            continue
        for r in case["outputs"]:
            if "problem" in r:
                rows.append((r["output"], shapes, r["problem"], "", "", "", ""))
            else:
                total = 1
                for d in r["shape"]:
                    total *= d
                rows.append((r["output"], shapes, fmt_err(r["max_abs_err"]), fmt_err(r["max_rel_err"]), "%d/%d" % (r["failing"], total), "%g" % r["atol"], "%g" % r["rtol"]))
    normal = [header] + [r for r in rows if r[3] != ""]
    widths = [max(len(r[i]) for r in normal) for i in range(len(header))]
    for r in [header] + rows:
        if r[3] == "" and r is not header:
            lines.append("  %s  %s  %s" % (r[0].ljust(widths[0]), r[1].ljust(widths[1]), r[2]))
        else:
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    lines.append(
        "(a size baked into the graph fails at one input shape only; a model exported in reduced precision may need "
        "verify.atol / verify.rtol for its precision)"
    )
    return "\n".join(lines)


__all__ = ["run_gate", "show_shape", "DEFAULT_TOLERANCES"]
