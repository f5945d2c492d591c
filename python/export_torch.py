"""Export a torch.nn.Module to ONNX or TorchScript for nx-triton, then check it against torch.

Usage: python export_torch.py <request.json>

The request (written by lib/export/sources/torch.ts) names the project directory, the
"module:callable" that builds the model, its kwargs, an optional state_dict checkpoint, the inputs
(name, shape with null for dynamic dims, data type, example values), the output names, the format,
the ONNX exporter, the path to write, the fidelity gate's settings and the minimum versions of the
packages each step needs. On success one JSON line is printed on stdout: {"result": {...}}; a problem
for the user is one JSON line {"error": {"key": ..., "message": ...}} and exit code 4.

Exit codes: 0 ok, 2 bad request, 3 torch missing, 4 a problem for the user.
"""

import contextlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import json
import keyword
import os
import sys
import tempfile

from nxt_errors import UserError, failure, first_line, frame_in_text, is_data_dependent, root_cause
from nxt_outputs import flatten, names_of
from nxt_values import InputSpec, triton_type

EXIT_BAD_REQUEST = 2
EXIT_NO_TORCH = 3
EXIT_USER_ERROR = 4

# A second set of sizes for the TorchScript signature: an output dim that changes with them is dynamic (-1).
BATCH_PROBE_SIZE = 3
DYNAMIC_PROBE_SIZE = 17
# torch.onnx.export defaults to the dynamo exporter from this version on.
DYNAMO_DEFAULT_FROM = (2, 9)
# torch.onnx.export(dynamo=True) came with this version.
DYNAMO_FROM = (2, 5)


def fail(code, message):
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.stderr.flush()
    sys.exit(code)


def version_tuple(text):
    parts = []
    for p in text.split("+")[0].split("."):
        digits = "".join(c for c in p if c.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts) or (0,)


def torch_version(torch):
    return version_tuple(torch.__version__)[:2]


def installed(package):
    """The installed version of a distribution; "unknown" for one importable without metadata (a distro's own build)."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        try:
            return "unknown" if importlib.util.find_spec(package.replace("-", "_")) is not None else None
        except (ImportError, ValueError):
            return None


def require(request, package, needs, key, instead=None):
    """`package` installed at the minimum version nx-triton needs, else a UserError that says who needs
    it (`needs`: "the fidelity gate needs it to run the exported ONNX") and how to install it, or what
    to do `instead`."""
    minimum = (request.get("requirements") or {}).get(package)
    have = installed(package)
    if have is not None and (minimum is None or have == "unknown" or version_tuple(have) >= version_tuple(minimum)):
        return
    spec = "%s>=%s" % (package, minimum) if minimum else package
    why = "is not installed for %s" % sys.executable if have is None else "%s in %s is older than the %s nx-triton needs" % (have, sys.executable, minimum)
    raise UserError(
        key,
        '%s %s; %s: pip install "%s" (or pip install -r node_modules/nx-triton/python/requirements.txt)%s'
        % (package, why, needs, spec, ", or " + instead if instead else ""),
    )


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
            'no module "%s": neither %s.py nor %s/ is in the project directory, and %s has no such module installed' % (top, top, top, sys.executable),
        )


def load_checkpoint(torch, path):
    """The state_dict, loaded with weights_only where torch has it: a checkpoint never runs code."""
    try:
        takes = "weights_only" in inspect.signature(torch.load).parameters
    except (TypeError, ValueError):
        takes = False
    return torch.load(path, map_location="cpu", weights_only=True) if takes else torch.load(path, map_location="cpu")


def build_model(torch, request):
    spec = request["model"]
    key = "export.torch.model"
    project = request["project_dir"]
    module_name, _, attr_path = spec.partition(":")
    try:
        target = importlib.import_module(module_name)
    except Exception as exc:
        raise failure(key, 'importing "%s"' % module_name, exc, project)
    for part in attr_path.split("."):
        if not hasattr(target, part):
            where = getattr(target, "__file__", None)
            shown = os.path.relpath(where, project) if where else module_name
            raise UserError(key, '"%s" has no "%s" (%s)' % (module_name if target is sys.modules.get(module_name) else spec, part, shown))
        target = getattr(target, part)
    try:
        model = target(**(request.get("kwargs") or {}))
    except Exception as exc:  # the user's code
        raise failure(key, '"%s"' % spec, exc, project)
    if not isinstance(model, torch.nn.Module):
        raise UserError(key, '"%s" returned %s, not a torch.nn.Module' % (spec, type(model).__name__))
    checkpoint = request.get("checkpoint")
    if checkpoint:
        shown = os.path.relpath(checkpoint, project)
        try:
            state = load_checkpoint(torch, checkpoint)
            if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
                state = state["state_dict"]
            model.load_state_dict(state)
        except Exception as exc:
            raise failure("export.torch.checkpoint", 'loading "%s"' % shown, exc, project)
    return model.eval()


def forward_signature(model):
    try:
        return inspect.signature(model.forward)
    except (TypeError, ValueError):
        return None


def show_signature(model, sig, project):
    where = ""
    try:
        code = model.forward.__func__.__code__
        inside = os.path.abspath(code.co_filename).startswith(os.path.abspath(project) + os.sep)
        where = " (%s:%d)" % (os.path.relpath(code.co_filename, project) if inside else code.co_filename, code.co_firstlineno)
    except (AttributeError, ValueError):
        pass
    return "forward%s%s" % (str(sig).replace("(", "(self, ", 1) if sig.parameters else "(self)", where)


def binding(model, specs, request):
    """'name' (inputs passed by keyword) or 'position' (export.torch.input_names, or a forward(*args)); checks the names."""
    sig = forward_signature(model)
    project = request["project_dir"]
    P = inspect.Parameter
    params = list(sig.parameters.values()) if sig else []
    positional = [p for p in params if p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)]
    var_pos = any(p.kind == P.VAR_POSITIONAL for p in params)
    if request.get("input_names"):
        # The i-th name is Triton's for forward's i-th parameter.
        if sig is not None and not var_pos and len(specs) > len(positional):
            raise UserError(
                "export.torch.input_names",
                "%d names for %s, which takes %d positional input(s)" % (len(specs), show_signature(model, sig, project), len(positional)),
            )
        required = [p.name for p in positional[len(specs):] if p.default is P.empty]
        if required:
            raise UserError("export.torch.input_names", "%s also needs %s, which input_names does not name" % (show_signature(model, sig, project), ", ".join('"%s"' % n for n in required)))
        return "position"
    if sig is None:
        return "position"
    named = [p.name for p in params if p.kind in (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY)]
    var_kw = any(p.kind == P.VAR_KEYWORD for p in params)
    if var_pos and not named:
        return "position"
    names = [s.name for s in specs]
    for s in specs:
        if s.name not in named and not var_kw:
            raise UserError(
                s.key,
                '"%s" is not a parameter of %s; input names are forward\'s parameter names (or set export.torch.input_names)' % (s.name, show_signature(model, sig, project)),
            )
    required = [p.name for p in params if p.kind in (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY, P.POSITIONAL_ONLY) and p.default is P.empty]
    missing = [n for n in required if n not in names]
    if missing:
        raise UserError(
            "export.torch.input_shapes",
            "%s needs %s, which input_shapes does not give" % (show_signature(model, sig, project), ", ".join('"%s"' % n for n in missing)),
        )
    return "name"


def flat_module(torch, model, specs, how, key, what):
    """The model behind forward(<input names, in order>), returning its outputs as the one flat tuple
    every exporter, the tracer and the gate see (nxt_outputs.flatten). It passes the inputs on by name,
    or by position (export.torch.input_names, forward(*args))."""
    names = [s.name for s in specs]
    usable = all(n.isidentifier() and not keyword.iskeyword(n) and n not in ("self", "model", "flat") for n in names)
    params = names if usable and len(set(names)) == len(names) else ["input_%d" % i for i in range(len(names))]
    if how == "position":
        call = ", ".join(params)
    else:
        call = "**{%s}" % ", ".join("%r: %s" % (n, p) for n, p in zip(names, params))
    scope = {}
    exec("def forward(self, %s):\n    return self.flat(self.model(%s))\n" % (", ".join(params), call), scope)
    wrapper = type("FlatOutputs", (torch.nn.Module,), {"forward": scope["forward"]})()
    wrapper.model = model
    # A single output stays a tensor (a TorchScript module then returns it as the model did).
    wrapper.flat = lambda result: (lambda flat: flat[0] if len(flat) == 1 else flat)(tuple(t for _, t in flatten(torch, result, key, what)))
    return wrapper.eval()


def has_dynamo(torch):
    try:
        return "dynamo" in inspect.signature(torch.onnx.export).parameters
    except (TypeError, ValueError):
        return False


def choose_exporter(torch, request):
    """The ONNX exporter: as asked, else torch's own default (dynamo from 2.9, TorchScript-based before),
    with the packages it needs installed."""
    requested = request.get("exporter")
    key = "export.torch.exporter" if requested else "export.torch.model"
    if requested == "dynamo" and not has_dynamo(torch):
        raise UserError(
            "export.torch.exporter",
            "torch %s has no dynamo exporter (torch.onnx.export(dynamo=True) came with torch 2.5); use exporter: torchscript or a newer torch" % torch.__version__,
        )
    exporter = requested or ("dynamo" if has_dynamo(torch) and torch_version(torch) >= DYNAMO_DEFAULT_FROM else "torchscript")
    if exporter == "dynamo":
        which = "the dynamo exporter" if requested else "the dynamo exporter (torch %s's default)" % torch.__version__.split("+")[0]
        require(request, "onnxscript", "%s needs it" % which, key, "set exporter: torchscript (the deprecated TorchScript-based exporter)")
    require(request, "onnx", "torch's ONNX exporters need it", key)
    return exporter


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


def dynamo_failure(exc, request, what):
    """Why torch.export could not capture the model, and what to do about it."""
    cause = root_cause(exc)
    project = request["project_dir"]
    key = "export.torch.exporter" if request.get("exporter") else "export.torch.model"
    where = frame_in_text("%s\n%s" % (exc, cause), project)
    at = " at %s" % where if where else ""
    if is_data_dependent(cause) or is_data_dependent(exc):
        return UserError(
            key,
            "%s: the model's control flow depends on a tensor's values%s (a branch, loop or size taken from a tensor), which torch.export "
            "cannot capture; rewrite it with torch.where or torch.cond. The TorchScript-based exporter would record only the branch the "
            "example inputs take (%s)" % (what, at, first_line(cause)),
        )
    return UserError(
        key,
        "%s: torch.export could not capture the model for the dynamo exporter%s (%s); exporter: torchscript may export it, and the "
        "fidelity gate then checks that it computes what torch does" % (what, at, first_line(cause)),
    )


def export_onnx(torch, wrapped, inputs, specs, output_names, request, exporter, what):
    kwargs = {"input_names": [s.name for s in specs], "output_names": output_names}
    if request.get("opset") is not None:
        kwargs["opset_version"] = int(request["opset"])
    if exporter == "dynamo":
        kwargs.update(dynamo=True, dynamic_shapes=dynamic_shapes_for(torch, specs), verbose=False)
        try:
            with captured_output():
                torch.onnx.export(wrapped, inputs, request["output"], **kwargs)
        except Exception as exc:
            raise dynamo_failure(exc, request, what)
    else:
        kwargs.update(dynamic_axes=dynamic_axes_for(specs, output_names), do_constant_folding=True)
        if has_dynamo(torch):
            kwargs["dynamo"] = False
        try:
            torch.onnx.export(wrapped, inputs, request["output"], **kwargs)
        except Exception as exc:
            raise failure("export.torch.model", what + " (torchscript exporter)", exc, request["project_dir"])
    strip_paths(request["output"])


# Node metadata the dynamo exporter writes that holds this machine's paths (the Python stack of each
# op: `File "/home/me/ws/models/enc/net.py", line 12`, the venv's torch files).
PATH_METADATA = ("pkg.torch.onnx.stack_trace",)


def strip_paths(path):
    """The exported ONNX without what carries this checkout's or this machine's paths, so the same model
    gives the same bytes anywhere (engine keys and caches are shared). Only the model proto is rewritten;
    external data files are left as they are."""
    import onnx

    model = onnx.load(path, load_external_data=False)
    changed = False

    def graph(g):
        nonlocal changed
        for node in g.node:
            nodes(node)
            for a in node.attribute:
                if a.HasField("g"):
                    graph(a.g)
                for sub in a.graphs:
                    graph(sub)

    def nodes(node):
        nonlocal changed
        # onnx before 1.16 has no node metadata (and no exporter that writes it).
        has_metadata = "metadata_props" in node.DESCRIPTOR.fields_by_name
        keep = [p for p in node.metadata_props if p.key not in PATH_METADATA] if has_metadata else []
        if has_metadata and len(keep) != len(node.metadata_props):
            del node.metadata_props[:]
            node.metadata_props.extend(keep)
            changed = True
        if node.doc_string:
            node.doc_string = ""
            changed = True

    graph(model.graph)
    for f in model.functions:
        for node in f.node:
            nodes(node)
    if changed:
        with open(path + ".tmp", "wb") as out:
            out.write(model.SerializeToString())
        os.replace(path + ".tmp", path)


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
    project = request["project_dir"]
    seed = int(request.get("seed") or 0)
    verify = request.get("verify")
    exporter = choose_exporter(torch, request) if fmt == "onnx" else None
    if verify and fmt == "onnx":
        require(request, "onnxruntime", "the fidelity gate needs it to run the exported ONNX", "verify", "set verify: false")
    batched = request.get("batched", True)
    specs = [InputSpec(torch, i, batched, i.get("key") or "export.torch.input_shapes") for i in request["inputs"]]

    torch.manual_seed(seed)
    model = build_model(torch, request)
    how = binding(model, specs, request)
    values_key = "export.torch.example_inputs" if request.get("example_inputs_given") else "export.torch.model"

    generator = torch.Generator().manual_seed(seed)
    sizes = [s.example_sizes() for s in specs]
    inputs = tuple(s.tensor(torch, z, generator) for s, z in zip(specs, sizes))
    used = "the example inputs %s (%s)" % (", ".join(s.describe(z) for s, z in zip(specs, sizes)), null_sizes(specs))
    try:
        with torch.no_grad():
            result = model(*inputs) if how == "position" else model(**dict((s.name, t) for s, t in zip(specs, inputs)))
    except Exception as exc:
        raise failure(values_key, "%s on %s" % (what, used), exc, project)
    flat = flatten(torch, result, "export.torch.model", what)
    wrapped = flat_module(torch, model, specs, how, "export.torch.model", what)

    output_names = list(request.get("output_names") or [])
    if not output_names:
        output_names = names_of([p for p, _ in flat], fmt)
    elif len(output_names) != len(flat):
        raise UserError(
            "export.torch.output_names",
            "%d name(s) given but the model returns %d output tensor(s) (%s)" % (len(output_names), len(flat), ", ".join(names_of([p for p, _ in flat], fmt))),
        )
    for name, (_, out) in zip(output_names, flat):
        if out.dtype.is_floating_point and not bool(torch.isfinite(out).all()):
            raise UserError(values_key, '%s gives NaN or Inf in output "%s" on %s; change the values with export.torch.example_inputs' % (what, name, used))

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
            raise failure("export.torch.model", what + " (TorchScript)", exc, project)
    result["inputs"] = [{"name": s.name, "data_type": triton_type(torch, s.dtype)} for s in specs]
    if verify:
        import nxt_verify

        by_name = fmt == "torchscript" and bool(request.get("script")) and how == "name"
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
        out = module(**dict((s.name, v) for s, v in zip(specs, values))) if how == "name" else module(*values)
        return [t for _, t in flatten(torch, out, "export.torch.model", what)]

    with torch.no_grad():
        first = call(inputs)
        try:
            second = call(probe)
        except Exception as exc:
            raise failure(
                "export.torch.model",
                what + " (the TorchScript module fails when the dynamic dims (null in input_shapes) take other sizes"
                " %s; trace-baked shapes? try script: true or fixed dims)" % ", ".join("%s%s" % (s.name, list(t.shape)) for s, t in zip(specs, probe)),
                exc,
                request["project_dir"],
            )
    outputs = []
    for name, a, b in zip(output_names, first, second):
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
        require(request, "torch", "export.torch needs it", "export.torch.model")
    except UserError as exc:
        reply({"error": {"key": exc.key, "message": exc.message}})
        sys.exit(EXIT_USER_ERROR)

    try:
        import torch
    except ImportError as exc:
        fail(EXIT_NO_TORCH, "nx-triton: torch cannot be imported by %s (%s): point the plugin's \"python\" option or NX_TRITON_PYTHON at an interpreter that has it" % (sys.executable, exc))

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
