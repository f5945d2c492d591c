"""Example tensors for nx-triton's torch export: their type, sizes and values, and how to describe them.

Shared by export_torch.py (the export's example inputs) and nxt_verify.py (the fidelity gate's cases).
"""

import re

from nxt_errors import UserError

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

# numpy dtype name -> Triton data type, for a .npy that sets an input's type.
NUMPY_TYPES = {name: "TYPE_" + key for key, name in DTYPES.items() if key != "BF16"}

# An input named like a mask gets padded masks by default.
MASK_NAME = re.compile(r"(^|_)mask$", re.I)


def triton_key(data_type):
    key = str(data_type).upper()
    return key[5:] if key.startswith("TYPE_") else key


def torch_dtype(torch, data_type, input_name, key):
    name = DTYPES.get(triton_key(data_type))
    if name is None:
        raise UserError(
            key,
            'input "%s": data_type %s cannot be fed to a torch model (one of %s)' % (input_name, data_type, ", ".join("TYPE_" + k for k in DTYPES)),
        )
    return getattr(torch, name)


def triton_type(torch, dtype):
    for key, name in DTYPES.items():
        if getattr(torch, name) == dtype:
            return "TYPE_" + key
    return None


def kind_of(values):
    """`zeros`, `randint`, `npy`, ... for any form of the values."""
    if values is None:
        return None
    if isinstance(values, str):
        return values
    return next(iter(values))


def describe_values(values):
    kind = kind_of(values)
    if isinstance(values, str):
        return values
    arg = values[kind]
    if kind == "npy":
        return arg["shown"]
    if kind == "constant":
        return "constant %s" % arg
    if kind == "padding_mask":
        return "padding_mask"
    return "%s%s" % (kind, list(arg))


class InputSpec(object):
    """One input: its name, shape (None = dynamic), dtype, values, and whether dim 0 is Triton's batch.

    Its type is, in this order: the example entry's `dtype`, the input's `data_type` in `input:`, the
    .npy file's type, int64 for `randint` and `padding_mask`, else fp32. Its values default to
    padding masks for an input named like a mask (`attention_mask`, `*_mask`: so int64 unless a type is
    given), else normal(0, 1) for floating types and ones for integers and bools.
    """

    def __init__(self, torch, entry, batched, key):
        self.name = entry["name"]
        self.shape = list(entry["shape"])
        self.key = key
        self.values_key = entry.get("values_key") or key
        values = entry.get("values")
        if values is None and MASK_NAME.search(self.name):
            # A mask input sees padded batches, as at serving time.
            values = "padding_mask"
        self.array = None
        if kind_of(values) == "npy":
            self.array = load_npy(self, values["npy"])
        data_type = entry.get("dtype") or entry.get("data_type") or self._implied_type(values)
        self.dtype = torch_dtype(torch, data_type, self.name, self.values_key if entry.get("dtype") else key)
        if self.array is not None:
            check_array(self, self.array, self.values_key, values["npy"]["shown"])
        if values is None:
            values = {"normal": [0.0, 1.0]} if self.dtype.is_floating_point else "ones"
        self.values = values
        self.batched = batched and len(self.shape) > 0 and self.shape[0] is None

    def _implied_type(self, values):
        if self.array is not None:
            found = NUMPY_TYPES.get(str(self.array.dtype))
            if found is None:
                raise UserError(self.values_key, "%s holds %s values, which no Triton input type takes" % (describe_values(values), self.array.dtype))
            return found
        return "TYPE_INT64" if kind_of(values) in ("randint", "padding_mask") else "TYPE_FP32"

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


def padding_mask(torch, sizes, generator):
    """Ones with a zero tail of random length per row (along the last dim), at least one 1 per row: a
    padded batch of sequences of different lengths."""
    if len(sizes) == 0:
        return torch.ones(sizes, dtype=torch.int64)
    length = sizes[-1]
    rows = 1
    for d in sizes[:-1]:
        rows *= d
    if rows == 0 or length == 0:
        return torch.ones(sizes, dtype=torch.int64)
    keep = torch.randint(1, length + 1, (rows, 1), generator=generator)
    # The first row is never padded: a batch of one is a full sequence, as at serving time.
    keep[0, 0] = length
    mask = (torch.arange(length).unsqueeze(0) < keep).to(torch.int64)
    return mask.reshape(sizes)


def make_tensor(torch, values, sizes, dtype, generator):
    if values == "zeros":
        return torch.zeros(sizes, dtype=dtype)
    if values == "ones":
        return torch.ones(sizes, dtype=dtype)
    kind = kind_of(values)
    if kind == "padding_mask":
        return padding_mask(torch, sizes, generator).to(dtype)
    if kind == "constant":
        return torch.full(sizes, values["constant"], dtype=torch.float64).to(dtype)
    a, b = values[kind]
    if kind == "randint":
        return torch.randint(int(a), int(b), sizes, generator=generator, dtype=torch.int64).to(dtype)
    if kind == "uniform":
        return (torch.rand(sizes, generator=generator, dtype=torch.float64) * (float(b) - float(a)) + float(a)).to(dtype)
    if kind == "normal":
        return (torch.randn(sizes, generator=generator, dtype=torch.float64) * float(b) + float(a)).to(dtype)
    raise UserError("export.torch.example_inputs", "unknown values %r" % (values,))


def load_npy(spec, npy):
    import numpy

    try:
        return numpy.load(npy["path"], allow_pickle=False)
    except Exception as exc:
        raise UserError(spec.values_key, "%s is not a readable .npy file: %s" % (npy["shown"], exc))


def check_array(spec, array, key, shown):
    """An array given for an input has its rank, its fixed dims and its dtype."""
    want = str(spec.dtype).replace("torch.", "")
    if str(array.dtype) != want:
        raise UserError(key, "%s holds %s values, but input %s is %s (set dtype: in its example_inputs entry, or convert the array)" % (shown, array.dtype, spec.name, want))
    if array.ndim != len(spec.shape) or any(d is not None and int(d) != s for d, s in zip(spec.shape, array.shape)):
        raise UserError(
            key,
            "%s has shape %s, but input_shapes.%s is %s (null = any size)" % (shown, list(array.shape), spec.name, show_shape(spec.shape)),
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
