"""Export a torch.nn.Module to ONNX or TorchScript for nx-triton, then check it against torch.

Usage: python export_torch.py <request.json>

The request (written by lib/export/torch.ts) names the project directory, the "module:callable"
that builds the model, its kwargs, an optional state_dict checkpoint, the inputs (name, shape with
null for dynamic dims, data type, example values), the output names, the format, the ONNX exporter,
the path to write and the fidelity gate's settings. On success one JSON line is printed on stdout:
{"result": {...}}; a problem for the user is one JSON line {"error": {"key": ..., "message": ...}}
and exit code 4.

Exit codes: 0 ok, 2 bad request, 3 torch missing, 4 a problem for the user.
"""

import contextlib
import importlib
import importlib.util
import inspect
import json
import keyword
import os
import sys
import tempfile
import traceback

from nxt_values import UserError, InputSpec, triton_type, show_shape

EXIT_BAD_REQUEST = 2
EXIT_NO_TORCH = 3
EXIT_USER_ERROR = 4

# A second set of sizes for the TorchScript signature: an output dim that changes with them is dynamic (-1).
BATCH_PROBE_SIZE = 3
DYNAMIC_PROBE_SIZE = 17
# torch.onnx.export defaults to the dynamo exporter from this version on.
DYNAMO_DEFAULT_FROM = (2, 9)


def fail(code, message):
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.stderr.flush()
    sys.exit(code)


def user_failure(key, what, exc):
    """`<what> failed: <Type>: <msg>` plus the traceback frames outside nx-triton's helpers."""
    here = os.path.dirname(os.path.abspath(__file__))
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if os.path.dirname(os.path.abspath(f.filename)) != here]
    lines = ["%s failed: %s" % (what, "".join(traceback.format_exception_only(type(exc), exc)).strip())]
    if frames:
        lines.append("Traceback (most recent call last, last frames):")
        for entry in traceback.format_list(frames[-8:]):
            lines.extend(entry.rstrip("\n").split("\n"))
    return UserError(key, "\n".join(lines))


def torch_version(torch):
    parts = torch.__version__.split("+")[0].split(".")
    try:
        return (int(parts[0]), int(parts[1]))
    except (IndexError, ValueError):
        return (0, 0)


def check_module_exists(request):
    """A missing module is reported before torch is imported (seconds on a big torch)."""
    top = request["model"].partition(":")[0].split(".")[0]
    try:
        found = importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise UserError(
            "export.torch.model",
            'no module "%s": neither %s.py nor %s/ is in the project directory, and %s has no such module installed'
            % (top, top, top, sys.executable),
        )


def build_model(torch, request):
    spec = request["model"]
    key = "export.torch.model"
    module_name, _, attr_path = spec.partition(":")
    try:
        target = importlib.import_module(module_name)
    except Exception as exc:
        raise user_failure(key, 'importing "%s"' % module_name, exc)
    for part in attr_path.split("."):
        if not hasattr(target, part):
            where = getattr(target, "__file__", None)
            shown = os.path.relpath(where, request["project_dir"]) if where else module_name
            raise UserError(key, '"%s" has no "%s" (%s)' % (module_name if target is sys.modules.get(module_name) else spec, part, shown))
        target = getattr(target, part)
    try:
        model = target(**(request.get("kwargs") or {}))
    except Exception as exc:  # the user's code: report it with its traceback
        raise user_failure(key, '"%s"' % spec, exc)
    if not isinstance(model, torch.nn.Module):
        raise UserError(key, '"%s" returned %s, not a torch.nn.Module' % (spec, type(model).__name__))
    checkpoint = request.get("checkpoint")
    if checkpoint:
        shown = os.path.relpath(checkpoint, request["project_dir"])
        try:
            state = torch.load(checkpoint, map_location="cpu")
            if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
                state = state["state_dict"]
            model.load_state_dict(state)
        except Exception as exc:
            raise user_failure("export.torch.checkpoint", '"%s"' % shown, exc)
    return model.eval()


def forward_signature(model):
    try:
        return inspect.signature(model.forward)
    except (TypeError, ValueError):
        return None


def show_signature(model, sig):
    where = ""
    try:
        code = model.forward.__func__.__code__
        where = " (%s:%d)" % (os.path.relpath(code.co_filename), code.co_firstlineno)
    except (AttributeError, ValueError):
        pass
    return "forward%s%s" % (str(sig).replace("(", "(self, ", 1) if sig.parameters else "(self)", where)


def binding(model, specs):
    """'name' (inputs passed by keyword) or 'position' (only for forward(*args)); checks the names."""
    sig = forward_signature(model)
    if sig is None:
        return "position"
    P = inspect.Parameter
    params = list(sig.parameters.values())
    named = [p.name for p in params if p.kind in (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY)]
    var_pos = any(p.kind == P.VAR_POSITIONAL for p in params)
    var_kw = any(p.kind == P.VAR_KEYWORD for p in params)
    if var_pos and not named:
        return "position"
    names = [s.name for s in specs]
    for s in specs:
        if s.name not in named and not var_kw:
            raise UserError(s.key, '"%s" is not a parameter of %s; input names are forward\'s parameter names' % (s.name, show_signature(model, sig)))
    required = [p.name for p in params if p.kind in (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY, P.POSITIONAL_ONLY) and p.default is P.empty]
    missing = [n for n in required if n not in names]
    if missing:
        raise UserError(
            "export.torch.input_shapes",
            "%s needs %s, which input_shapes does not give" % (show_signature(model, sig), ", ".join('"%s"' % n for n in missing)),
        )
    return "name"


def named_module(torch, model, specs, how):
    """The model behind forward(<input names, in the file's order>): it passes them on by name
    (or by position for forward(*args)). Exporters and the tracer see the config's names and order."""
    names = [s.name for s in specs]
    usable = all(n.isidentifier() and not keyword.iskeyword(n) and n not in ("self", "model") for n in names)
    params = names if usable and len(set(names)) == len(names) else ["input_%d" % i for i in range(len(names))]
    if how == "position":
        call = ", ".join(params)
    else:
        call = "**{%s}" % ", ".join("%r: %s" % (n, p) for n, p in zip(names, params))
    scope = {}
    exec("def forward(self, %s):\n    return self.model(%s)\n" % (", ".join(params), call), scope)
    wrapper = type("NamedInputs", (torch.nn.Module,), {"forward": scope["forward"]})()
    wrapper.model = model
    return wrapper.eval()


def as_outputs(result):
    return tuple(result) if isinstance(result, (tuple, list)) else (result,)


def has_dynamo(torch):
    try:
        return "dynamo" in inspect.signature(torch.onnx.export).parameters
    except (TypeError, ValueError):
        return False


def choose_exporter(torch, requested):
    """The ONNX exporter: as asked, else torch's own default (dynamo from 2.9, TorchScript-based before)."""
    dynamo = has_dynamo(torch)
    if requested == "dynamo" and not dynamo:
        raise UserError(
            "export.torch.exporter",
            "torch %s has no dynamo exporter (torch.onnx.export(dynamo=True) came with torch 2.5); use exporter: torchscript or a newer torch"
            % torch.__version__,
        )
    if requested == "dynamo" and importlib.util.find_spec("onnxscript") is None:
        raise UserError(
            "export.torch.exporter",
            "the dynamo exporter needs onnxscript, which %s does not have (pip install onnxscript), or use exporter: torchscript" % sys.executable,
        )
    if requested:
        return requested
    if dynamo and torch_version(torch) >= DYNAMO_DEFAULT_FROM and importlib.util.find_spec("onnxscript") is not None:
        return "dynamo"
    return "torchscript"


def dynamic_axes_for(specs, output_names):
    axes = {}
    batched = False
    for s in specs:
        dims = {}
        for i, d in enumerate(s.shape):
            if d is None:
                dims[i] = "batch" if s.is_batch_dim(i) else "%s_%d" % (s.name, i)
                batched = batched or s.is_batch_dim(i)
        if dims:
            axes[s.name] = dims
    if batched:
        for name in output_names:
            axes.setdefault(name, {0: "batch"})
    return axes


def dynamic_shapes_for(torch, specs):
    """torch.export dims for the dynamo exporter, one entry per input (None when all its dims are fixed)."""
    Dim = torch.export.Dim
    auto = getattr(Dim, "DYNAMIC", None)
    shapes = []
    for s in specs:
        dims = dict((i, auto if auto is not None else Dim("%s_%d" % (s.name, i))) for i, d in enumerate(s.shape) if d is None)
        shapes.append(dims or None)
    return tuple(shapes) if any(shapes) else None


@contextlib.contextmanager
def captured_output():
    """torch.export prints pages of graphs when it fails: keep the process's stdout/stderr aside,
    show them again only when the export succeeded (its warnings)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 1)
        os.dup2(tmp.fileno(), 2)
        ok = False
        try:
            yield
            ok = True
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            if ok:
                tmp.seek(0)
                sys.stderr.write(tmp.read().decode("utf-8", "replace"))
                sys.stderr.flush()


def root_cause(exc):
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def first_line(exc):
    """The exception's first line (and the next when the first ends with a colon)."""
    text = [l.strip() for l in str(exc).strip().split("\n") if l.strip()]
    shown = " ".join(text[:2]) if len(text) > 1 and text[0].endswith(":") else (text[0] if text else "")
    return "%s: %s" % (type(exc).__name__, shown)


def export_onnx(torch, wrapped, inputs, specs, output_names, request, exporter, what):
    kwargs = {"input_names": [s.name for s in specs], "output_names": output_names}
    if request.get("opset") is not None:
        kwargs["opset_version"] = int(request["opset"])
    if exporter == "dynamo":
        kwargs.update(dynamo=True, dynamic_shapes=dynamic_shapes_for(torch, specs), verbose=False)
        key = "export.torch.exporter" if request.get("exporter") else "export.torch.model"
        try:
            with captured_output():
                torch.onnx.export(wrapped, inputs, request["output"], **kwargs)
        except Exception as exc:
            capture = type(exc).__name__ == "TorchExportError"
            raise UserError(
                key,
                "%s: %s (%s); try exporter: torchscript"
                % (
                    what,
                    "torch.export could not capture the model for the dynamo exporter" if capture else "the dynamo exporter failed",
                    first_line(root_cause(exc)),
                ),
            )
        return
    kwargs.update(dynamic_axes=dynamic_axes_for(specs, output_names), do_constant_folding=True)
    if has_dynamo(torch):
        kwargs["dynamo"] = False
    try:
        torch.onnx.export(wrapped, inputs, request["output"], **kwargs)
    except Exception as exc:
        raise user_failure("export.torch.model", what + " (torchscript exporter)", exc)


def check_opset(request, torch, exporter):
    """`opset` honoured: the ONNX's default-domain opset is the one asked for."""
    if request.get("opset") is None:
        return
    import onnx

    model = onnx.load(request["output"], load_external_data=False)
    got = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    if got != [int(request["opset"])]:
        raise UserError(
            "export.torch.opset",
            "torch %s's %s exporter wrote opset %s, not opset %d" % (torch.__version__, exporter, got[0] if got else "none", int(request["opset"])),
        )


def export(torch, request):
    fmt = request["format"]
    what = 'export.torch.model "%s"' % request["model"]
    seed = int(request.get("seed") or 0)
    verify = request.get("verify")
    if verify and fmt == "onnx" and importlib.util.find_spec("onnxruntime") is None:
        raise UserError(
            "verify",
            "the fidelity gate runs the exported ONNX in onnxruntime, which %s does not have: "
            "install it (pip install onnxruntime) or set verify: false" % sys.executable,
        )
    exporter = choose_exporter(torch, request.get("exporter")) if fmt == "onnx" else None
    specs = [
        InputSpec(torch, i["name"], i["shape"], i.get("data_type") or "TYPE_FP32", i.get("values"), request.get("batched", True), request["project_dir"])
        for i in request["inputs"]
    ]
    for s, i in zip(specs, request["inputs"]):
        s.key = i.get("key") or "export.torch.input_shapes"

    torch.manual_seed(seed)
    model = build_model(torch, request)
    how = binding(model, specs)
    wrapped = named_module(torch, model, specs, how)

    generator = torch.Generator().manual_seed(seed)
    sizes = [s.example_sizes() for s in specs]
    inputs = tuple(s.tensor(torch, z, generator) for s, z in zip(specs, sizes))
    values_key = "export.torch.example_inputs" if request.get("example_inputs_given") else "export.torch.model"
    used = "the example inputs %s (%s; change the values with export.torch.example_inputs, e.g. { %s: { randint: [0, 2] } }, and the sizes with fixed dims in input_shapes)" % (
        ", ".join(s.describe(z) for s, z in zip(specs, sizes)),
        null_sizes(specs),
        specs[-1].name if specs else "input",
    )
    try:
        with torch.no_grad():
            outputs = as_outputs(wrapped(*inputs))
    except Exception as exc:
        raise user_failure(values_key, "%s on %s" % (what, used), exc)
    n_outputs = len(outputs)
    for i, out in enumerate(outputs):
        if isinstance(out, torch.Tensor) and out.dtype.is_floating_point and not bool(torch.isfinite(out).all()):
            raise UserError(values_key, "%s gives NaN or Inf (output %d) on %s" % (what, i, used))

    output_names = list(request.get("output_names") or [])
    if not output_names:
        if fmt == "torchscript":
            output_names = ["OUTPUT__%d" % i for i in range(n_outputs)]
        else:
            output_names = ["output"] if n_outputs == 1 else ["output_%d" % i for i in range(n_outputs)]
    elif len(output_names) != n_outputs:
        raise UserError(
            "export.torch.output_names",
            "%d name(s) given but the model returns %d output(s)" % (len(output_names), n_outputs),
        )

    result = {"output_names": output_names, "torch_version": torch.__version__, "format": fmt}
    if fmt == "onnx":
        export_onnx(torch, wrapped, inputs, specs, output_names, request, exporter, what)
        check_opset(request, torch, exporter)
        result["exporter"] = exporter
        reference = wrapped
    else:
        try:
            if request.get("script"):
                saved = torch.jit.script(model)
                reference = model
            else:
                with torch.no_grad():
                    saved = torch.jit.trace(wrapped, inputs)
                reference = wrapped
            result["signature"] = torchscript_signature(torch, saved, request, specs, inputs, output_names, how if request.get("script") else "position")
            saved.save(request["output"])
        except UserError:
            raise
        except Exception as exc:
            raise user_failure("export.torch.model", what + " (TorchScript)", exc)
    if verify:
        import nxt_verify

        by_name = fmt == "torchscript" and bool(request.get("script"))
        result["verify"] = nxt_verify.run_gate(torch, reference, specs, fmt, request["output"], output_names, verify, what, by_name)
        result["verify"]["exporter"] = exporter or ("script" if request.get("script") else "trace")
        result["verify"]["torch"] = torch.__version__
    return result


def null_sizes(specs):
    dynamic = [(s, i) for s in specs for i, d in enumerate(s.shape) if d is None and s.array is None]
    if not dynamic:
        return "no dynamic dims"
    parts = ["%s dim %d = %d" % (s.name, i, s.example_sizes()[i]) for s, i in dynamic]
    return "null dims were given the sizes " + ", ".join(parts)


def torchscript_signature(torch, module, request, specs, inputs, output_names, how):
    """Input and output tensors of the saved module: Triton types, shapes with null for dynamic dims."""
    what = 'export.torch.model "%s"' % request["model"]
    generator = torch.Generator().manual_seed(1)
    probe = tuple(
        s.tensor(torch, [s.dynamic_size(i, BATCH_PROBE_SIZE, DYNAMIC_PROBE_SIZE) if d is None else int(d) for i, d in enumerate(s.shape)], generator)
        for s in specs
    )

    def call(values):
        if how == "name":
            return as_outputs(module(**dict((s.name, v) for s, v in zip(specs, values))))
        return as_outputs(module(*values))

    with torch.no_grad():
        first = call(inputs)
        try:
            second = call(probe)
        except Exception as exc:
            raise user_failure(
                "export.torch.model",
                what + " (the TorchScript module fails when the dynamic dims (null in input_shapes) take other sizes"
                " %s; trace-baked shapes? try script: true or fixed dims)" % ", ".join("%s%s" % (s.name, list(t.shape)) for s, t in zip(specs, probe)),
                exc,
            )
    outputs = []
    for name, a, b in zip(output_names, first, second):
        if not isinstance(a, torch.Tensor) or not isinstance(b, torch.Tensor):
            raise UserError(
                "export.torch.output_names",
                'output "%s" is a %s, not a tensor; Triton\'s pytorch backend serves tensors' % (name, type(a).__name__),
            )
        data_type = triton_type(torch, a.dtype)
        if data_type is None:
            raise UserError("export.torch.output_names", 'output "%s" is %s, which Triton cannot serve' % (name, a.dtype))
        shape = [d if d == e else None for d, e in zip(a.shape, b.shape)] if a.dim() == b.dim() else None
        outputs.append({"name": name, "data_type": data_type, "shape": shape})
    inputs_sig = [{"name": s.name, "data_type": triton_type(torch, s.dtype), "shape": s.shape} for s in specs]
    forward_args = [a.name for a in module.forward.schema.arguments][1:]
    return {"inputs": inputs_sig, "outputs": outputs, "forward_args": forward_args}


def reply(obj):
    sys.__stdout__.write(json.dumps(obj) + "\n")
    sys.__stdout__.flush()


def finish(code):
    """Exit without the interpreter's teardown: with torch imported it takes a second or more (its
    atexit hooks, thread pools, freeing every module), on the path of every export. Everything this
    process wrote is closed by now; the output streams are flushed here."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        stream.flush()
    os._exit(code)


def main(argv):
    if len(argv) != 2:
        fail(EXIT_BAD_REQUEST, "usage: export_torch.py <request.json>")
    try:
        with open(argv[1], encoding="utf-8") as f:
            request = json.load(f)
        for key in ("project_dir", "model", "inputs", "format", "output"):
            if key not in request:
                raise ValueError("missing key %r" % key)
        if request["format"] not in ("onnx", "torchscript"):
            raise ValueError("format must be onnx or torchscript")
    except (OSError, ValueError) as exc:
        fail(EXIT_BAD_REQUEST, "nx-triton: bad export request %s: %s" % (argv[1], exc))

    project_dir = os.path.abspath(request["project_dir"])
    # No __pycache__ in the project: it would change the export's own cache inputs.
    sys.dont_write_bytecode = True
    sys.path.insert(0, project_dir)
    os.chdir(project_dir)
    try:
        check_module_exists(request)
    except UserError as exc:
        reply({"error": {"key": exc.key, "message": exc.message}})
        sys.exit(EXIT_USER_ERROR)

    try:
        import torch
    except ImportError:
        fail(
            EXIT_NO_TORCH,
            'nx-triton: torch is not installed for %s (install it with "pip install torch", '
            'or on Debian "apt-get install python3-torch", or point the plugin\'s "python" option '
            "/ NX_TRITON_PYTHON at an interpreter that has it)" % sys.executable,
        )

    try:
        # The user's prints must not mix with the result line.
        with contextlib.redirect_stdout(sys.stderr):
            result = export(torch, request)
    except UserError as exc:
        reply({"error": {"key": exc.key, "message": exc.message}})
        finish(EXIT_USER_ERROR)
    reply({"result": result})
    finish(0)


if __name__ == "__main__":
    main(sys.argv)
