"""Example tensors for nx-triton's torch export: their sizes, their values, and how to describe them.

Shared by export_torch.py (the export's example inputs) and nxt_verify.py (the fidelity gate's cases).
"""

# Sizes that a dynamic dim (null in input_shapes) takes in the export's example inputs. Never 1: the
# tracer would bake broadcasting of size-1 dims into the graph, and torch.export specialises 0 and 1.
BATCH_EXAMPLE_SIZE = 2
DYNAMIC_EXAMPLE_SIZE = 16

# Triton data type (without TYPE_) -> torch dtype name.
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

# What `export.torch.example_inputs.<input>` may name, and what it means.
VALUE_KINDS = ("zeros", "ones", "randint", "uniform", "normal", "npy")


class UserError(Exception):
    """A problem for the user to fix; `key` is the triton.yaml key path it belongs to."""

    def __init__(self, key, message):
        Exception.__init__(self, message)
        self.key = key
        self.message = message


def triton_key(data_type):
    key = str(data_type).upper()
    return key[5:] if key.startswith("TYPE_") else key


def torch_dtype(torch, data_type, input_name):
    name = DTYPES.get(triton_key(data_type))
    if name is None:
        raise UserError(
            "input",
            'input "%s": data_type %s cannot be fed to a torch model (one of %s)'
            % (input_name, data_type, ", ".join("TYPE_" + k for k in DTYPES)),
        )
    return getattr(torch, name)


def triton_type(torch, dtype):
    for key, name in DTYPES.items():
        if getattr(torch, name) == dtype:
            return "TYPE_" + key
    return None


def default_values(dtype):
    """normal(0, 1) for floating types, ones for integers and bools."""
    return {"normal": [0.0, 1.0]} if dtype.is_floating_point else "ones"


def describe_values(values):
    if isinstance(values, str):
        return values
    kind, arg = next(iter(values.items()))
    if kind == "npy":
        return arg["shown"]
    return "%s%s" % (kind, list(arg))


class InputSpec(object):
    """One input: its name, shape (None = dynamic), dtype, values, and whether dim 0 is Triton's batch."""

    def __init__(self, torch, name, shape, data_type, values, batched, project_dir):
        self.name = name
        self.shape = list(shape)
        self.dtype = torch_dtype(torch, data_type, name)
        self.values = values if values is not None else default_values(self.dtype)
        self.batched = batched and len(self.shape) > 0 and self.shape[0] is None
        self.array = None
        if isinstance(self.values, dict) and "npy" in self.values:
            self.array = load_npy(torch, self, self.values["npy"])

    def is_batch_dim(self, axis):
        return axis == 0 and self.batched

    def example_sizes(self):
        """The export's sizes: the .npy's own shape, else 2 for the batch dim and 16 for other dynamic dims."""
        if self.array is not None:
            return list(self.array.shape)
        return [self.dynamic_size(i, BATCH_EXAMPLE_SIZE, DYNAMIC_EXAMPLE_SIZE) if d is None else int(d) for i, d in enumerate(self.shape)]

    def dynamic_size(self, axis, batch, other):
        return batch if axis == 0 and self.shape[0] is None else other

    def tensor(self, torch, sizes, generator):
        """Values of this input at `sizes` (a .npy is cut or repeated along its dynamic dims)."""
        if self.array is not None:
            import numpy

            return torch.from_numpy(numpy.ascontiguousarray(resize(self.array, sizes, self.shape)))
        return make_tensor(torch, self.values, sizes, self.dtype, generator)

    def describe(self, sizes):
        return "%s%s %s %s" % (self.name, list(sizes), str(self.dtype).replace("torch.", ""), describe_values(self.values))


def make_tensor(torch, values, sizes, dtype, generator):
    if values == "zeros":
        return torch.zeros(sizes, dtype=dtype)
    if values == "ones":
        return torch.ones(sizes, dtype=dtype)
    kind, (a, b) = next(iter(values.items()))
    if kind == "randint":
        return torch.randint(int(a), int(b), sizes, generator=generator, dtype=torch.int64).to(dtype)
    if kind == "uniform":
        return (torch.rand(sizes, generator=generator, dtype=torch.float64) * (float(b) - float(a)) + float(a)).to(dtype)
    if kind == "normal":
        return (torch.randn(sizes, generator=generator, dtype=torch.float64) * float(b) + float(a)).to(dtype)
    raise UserError("export.torch.example_inputs", "unknown values %r (one of %s)" % (values, ", ".join(VALUE_KINDS)))


def load_npy(torch, spec, npy):
    import numpy

    key = "export.torch.example_inputs.%s" % spec.name
    try:
        array = numpy.load(npy["path"], allow_pickle=False)
    except Exception as exc:
        raise UserError(key, "%s is not a readable .npy file: %s" % (npy["shown"], exc))
    check_array(torch, spec, array, key, npy["shown"])
    return array


def check_array(torch, spec, array, key, shown):
    """An array given for an input has its rank, its fixed dims and its dtype."""
    want = str(spec.dtype).replace("torch.", "")
    if str(array.dtype) != want:
        raise UserError(key, "%s holds %s values, but input %s is %s" % (shown, array.dtype, spec.name, want))
    if array.ndim != len(spec.shape) or any(d is not None and int(d) != s for d, s in zip(spec.shape, array.shape)):
        raise UserError(
            key,
            "%s has shape %s, but input_shapes.%s is %s (null = any size)"
            % (shown, list(array.shape), spec.name, show_shape(spec.shape)),
        )


def resize(array, sizes, shape):
    """`array` at `sizes`: each dynamic dim cut to size or repeated from its start."""
    import numpy

    for axis, (d, n) in enumerate(zip(shape, sizes)):
        if d is None and array.shape[axis] != n:
            array = numpy.take(array, numpy.arange(n) % array.shape[axis], axis=axis)
    return array


def show_shape(shape):
    return "[%s]" % ", ".join("null" if d is None else str(d) for d in shape)
