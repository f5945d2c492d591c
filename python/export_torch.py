"""Export a torch.nn.Module to ONNX or TorchScript for nx-triton.

Usage: python export_torch.py <request.json>

The request (written by lib/export/torch.ts) names the project directory, the
"module:callable" that builds the model, its kwargs, an optional state_dict
checkpoint, the input shapes (null = dynamic) and dtypes, the output names, the
format and the path to write. On success one JSON line is printed on stdout.

Exit codes: 0 ok, 2 bad request, 3 torch missing, 4 the user's model failed.
"""

import contextlib
import importlib
import inspect
import json
import keyword
import os
import sys
import traceback

EXIT_BAD_REQUEST = 2
EXIT_NO_TORCH = 3
EXIT_USER_ERROR = 4

# Sizes of the example tensors for dynamic dims. Never 1: the tracer would bake
# broadcasting of size-1 dims into the graph.
BATCH_EXAMPLE_SIZE = 2
DYNAMIC_EXAMPLE_SIZE = 16
# A second set of sizes: a TorchScript output dim that changes with them is dynamic (-1).
BATCH_PROBE_SIZE = 3
DYNAMIC_PROBE_SIZE = 17

DTYPES = {
    "BOOL": "bool",
    "UINT8": "uint8",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "FP16": "float16",
    "BF16": "bfloat16",
    "FP32": "float32",
    "FP64": "float64",
}


class UserError(Exception):
    """A failure in the user's model; its message is already formatted."""


def fail(code, message):
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.stderr.flush()
    sys.exit(code)


def user_failure(what, exc, skip_frames_from=__file__):
    """`<what> failed: <Type>: <msg>` plus the traceback frames outside this helper."""
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if os.path.abspath(f.filename) != os.path.abspath(skip_frames_from)
    ]
    lines = ["nx-triton: %s failed: %s" % (what, "".join(traceback.format_exception_only(type(exc), exc)).strip())]
    if frames:
        lines.append("Traceback (most recent call last, last frames):")
        for entry in traceback.format_list(frames[-8:]):
            lines.extend(line for line in entry.rstrip("\n").split("\n"))
    return UserError("\n".join(lines))


def torch_dtype(torch, triton_type, input_name):
    key = str(triton_type).upper()
    if key.startswith("TYPE_"):
        key = key[5:]
    name = DTYPES.get(key)
    if name is None:
        raise UserError(
            'nx-triton: input "%s": data_type %s cannot be fed to a torch model (one of %s)'
            % (input_name, triton_type, ", ".join("TYPE_" + k for k in DTYPES))
        )
    return getattr(torch, name)


def example_tensor(torch, shape, dtype, generator, batch=BATCH_EXAMPLE_SIZE, dynamic=DYNAMIC_EXAMPLE_SIZE):
    sizes = [(batch if i == 0 else dynamic) if d is None else int(d) for i, d in enumerate(shape)]
    if dtype.is_floating_point:
        return torch.randn(sizes, generator=generator, dtype=torch.float32).to(dtype)
    # Zeros are a valid index for embeddings and a valid mask, whatever the model does with them.
    return torch.zeros(sizes, dtype=dtype)


def build_model(torch, request):
    spec = request["model"]
    what = 'export.torch.model "%s"' % spec
    module_name, sep, attr_path = spec.partition(":")
    if not sep or not module_name or not attr_path:
        raise UserError('nx-triton: %s: expected "python.module:callable"' % what)
    try:
        target = importlib.import_module(module_name)
        for part in attr_path.split("."):
            target = getattr(target, part)
        model = target(**(request.get("kwargs") or {}))
    except Exception as exc:  # the user's code: report it with its traceback
        raise user_failure(what, exc)
    if not isinstance(model, torch.nn.Module):
        raise UserError(
            "nx-triton: %s failed: it returned %s, not a torch.nn.Module" % (what, type(model).__name__)
        )
    checkpoint = request.get("checkpoint")
    if checkpoint:
        shown = os.path.relpath(checkpoint, request["project_dir"])
        try:
            state = torch.load(checkpoint, map_location="cpu")
            if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
                state = state["state_dict"]
            model.load_state_dict(state)
        except Exception as exc:
            raise user_failure('export.torch.checkpoint "%s"' % shown, exc)
    return model.eval()


def count_outputs(result):
    if isinstance(result, (tuple, list)):
        return len(result)
    return 1


def dynamic_axes_for(input_shapes, output_names):
    axes = {}
    batched = False
    for name, shape in input_shapes.items():
        dims = {}
        for i, d in enumerate(shape):
            if d is None:
                dims[i] = "batch" if i == 0 else "%s_%d" % (name, i)
                batched = batched or i == 0
        if dims:
            axes[name] = dims
    if batched:
        for name in output_names:
            axes.setdefault(name, {0: "batch"})
    return axes


def export(torch, request):
    input_shapes = request["input_shapes"]
    input_dtypes = request.get("input_dtypes") or {}
    fmt = request["format"]
    output = request["output"]
    what = 'export.torch.model "%s"' % request["model"]

    torch.manual_seed(int(request.get("seed") or 0))
    model = build_model(torch, request)

    generator = torch.Generator().manual_seed(int(request.get("seed") or 0))
    inputs = tuple(
        example_tensor(torch, shape, torch_dtype(torch, input_dtypes.get(name, "TYPE_FP32"), name), generator)
        for name, shape in input_shapes.items()
    )
    probe_inputs = tuple(
        example_tensor(
            torch, shape, torch_dtype(torch, input_dtypes.get(name, "TYPE_FP32"), name), generator, BATCH_PROBE_SIZE, DYNAMIC_PROBE_SIZE
        )
        for name, shape in input_shapes.items()
    )
    try:
        with torch.no_grad():
            n_outputs = count_outputs(model(*inputs))
    except Exception as exc:
        raise user_failure(what + " (called with example inputs %s)" % describe_inputs(inputs, input_shapes), exc)

    output_names = list(request.get("output_names") or [])
    if not output_names:
        if fmt == "torchscript":
            output_names = ["OUTPUT__%d" % i for i in range(n_outputs)]
        else:
            output_names = ["output"] if n_outputs == 1 else ["output_%d" % i for i in range(n_outputs)]
    elif len(output_names) != n_outputs:
        raise UserError(
            "nx-triton: export.torch.output_names: %d name(s) given but the model returns %d output(s)"
            % (len(output_names), n_outputs)
        )

    tmp = "%s.tmp-%d" % (output, os.getpid())
    try:
        try:
            if fmt == "onnx":
                kwargs = {}
                if request.get("opset") is not None:
                    kwargs["opset_version"] = int(request["opset"])
                torch.onnx.export(
                    model,
                    inputs,
                    tmp,
                    input_names=list(input_shapes),
                    output_names=output_names,
                    dynamic_axes=dynamic_axes_for(input_shapes, output_names),
                    do_constant_folding=True,
                    **kwargs
                )
            else:
                if request.get("script"):
                    saved = torch.jit.script(model)
                else:
                    with torch.no_grad():
                        saved = torch.jit.trace(with_input_names(torch, model, list(input_shapes)), inputs)
                signature = torchscript_signature(torch, saved, request, inputs, probe_inputs, output_names)
                saved.save(tmp)
        except UserError:
            raise
        except Exception as exc:
            raise user_failure(what + " (%s export)" % fmt, exc)
        os.replace(tmp, output)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    result = {"output_names": output_names, "torch_version": torch.__version__, "format": fmt}
    if fmt == "torchscript":
        result["signature"] = signature
    return result


def triton_type(torch, dtype):
    for key, name in DTYPES.items():
        if getattr(torch, name) == dtype:
            return "TYPE_" + key
    return None


def as_outputs(result):
    return tuple(result) if isinstance(result, (tuple, list)) else (result,)


def with_input_names(torch, model, names):
    """The model behind a forward(<names>) so the TorchScript arguments carry the config's input names.

    Triton's libtorch backend matches inputs by forward() argument name (or by the NAME__index
    convention); tracing through this wrapper makes the first rule hold for the names asked for.
    """
    try:
        own = [p for p in inspect.signature(model.forward).parameters]
    except (TypeError, ValueError):
        own = None
    usable = all(n.isidentifier() and not keyword.iskeyword(n) and n != "self" for n in names)
    if own == list(names) or not usable or len(set(names)) != len(names):
        return model
    scope = {}
    args = ", ".join(names)
    exec("def forward(self, %s):\n    return self.model(%s)\n" % (args, args), scope)
    wrapper = type("NamedInputs", (torch.nn.Module,), {"forward": scope["forward"]})()
    wrapper.model = model
    return wrapper.eval()


def torchscript_signature(torch, module, request, inputs, probe_inputs, output_names):
    """Input and output tensors of the saved module: Triton types, shapes with null for dynamic dims."""
    what = 'export.torch.model "%s"' % request["model"]
    with torch.no_grad():
        first = as_outputs(module(*inputs))
        try:
            second = as_outputs(module(*probe_inputs))
        except Exception as exc:
            raise user_failure(
                what + " (the TorchScript module fails when the dynamic dims (null in input_shapes) take other sizes"
                " %s; trace-baked shapes? try script: true or fixed dims)" % describe_inputs(probe_inputs, request["input_shapes"]),
                exc,
            )
    outputs = []
    for name, a, b in zip(output_names, first, second):
        if not isinstance(a, torch.Tensor) or not isinstance(b, torch.Tensor):
            raise UserError(
                'nx-triton: export.torch.output_names: output "%s" is a %s, not a tensor; Triton\'s pytorch backend serves tensors'
                % (name, type(a).__name__)
            )
        data_type = triton_type(torch, a.dtype)
        if data_type is None:
            raise UserError('nx-triton: output "%s" is %s, which Triton cannot serve' % (name, a.dtype))
        shape = [d if d == e else None for d, e in zip(a.shape, b.shape)] if a.dim() == b.dim() else None
        outputs.append({"name": name, "data_type": data_type, "shape": shape})
    dtypes = request.get("input_dtypes") or {}
    inputs_sig = [
        {"name": n, "data_type": "TYPE_" + str(dtypes.get(n, "TYPE_FP32")).upper().replace("TYPE_", ""), "shape": shape}
        for n, shape in request["input_shapes"].items()
    ]
    forward_args = [a.name for a in module.forward.schema.arguments][1:]
    return {"inputs": inputs_sig, "outputs": outputs, "forward_args": forward_args}


def describe_inputs(inputs, input_shapes):
    return ", ".join("%s%s" % (name, list(t.shape)) for name, t in zip(input_shapes, inputs))


def main(argv):
    if len(argv) != 2:
        fail(EXIT_BAD_REQUEST, "usage: export_torch.py <request.json>")
    try:
        with open(argv[1], encoding="utf-8") as f:
            request = json.load(f)
        for key in ("project_dir", "model", "input_shapes", "format", "output"):
            if key not in request:
                raise ValueError("missing key %r" % key)
        if request["format"] not in ("onnx", "torchscript"):
            raise ValueError("format must be onnx or torchscript")
    except (OSError, ValueError) as exc:
        fail(EXIT_BAD_REQUEST, "nx-triton: bad export request %s: %s" % (argv[1], exc))

    try:
        import torch
    except ImportError:
        fail(
            EXIT_NO_TORCH,
            'nx-triton: torch is not installed for %s (install it with "pip install torch", '
            'or on Debian "apt-get install python3-torch", or point the plugin\'s "python" option '
            "/ NX_TRITON_PYTHON at an interpreter that has it)" % sys.executable,
        )

    project_dir = os.path.abspath(request["project_dir"])
    # No __pycache__ in the project: it would change the export's own cache inputs.
    sys.dont_write_bytecode = True
    sys.path.insert(0, project_dir)
    os.chdir(project_dir)
    real_stdout = sys.stdout
    try:
        # The user's prints must not mix with the result line.
        with contextlib.redirect_stdout(sys.stderr):
            result = export(torch, request)
    except UserError as exc:
        fail(EXIT_USER_ERROR, str(exc))
    real_stdout.write(json.dumps(result) + "\n")
    real_stdout.flush()


if __name__ == "__main__":
    main(sys.argv)
