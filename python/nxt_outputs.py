"""What a model's forward returns, flattened the way torch's ONNX exporters flatten it: a tensor, a
tuple or list (nested too), a dict, a transformers ModelOutput (its fields that are set, in order).
The export wraps the model so that every exporter, the TorchScript tracer and the fidelity gate see
this one flat tuple; each output is named by its dict/ModelOutput key, else `output__<i>`.
"""

from collections.abc import Mapping

from nxt_errors import UserError


def _is_cache(value):
    """A transformers Cache (DynamicCache, StaticCache, ...): past key/values no exporter can carry."""
    return any(c.__name__.endswith("Cache") for c in type(value).__mro__) and not hasattr(value, "shape")


def flatten(torch, result, key, what):
    """[(path, tensor)]: each tensor with the keys and indices that lead to it. None values are left
    out, as ModelOutput leaves out its unset fields."""
    out = []

    def visit(value, path):
        if value is None:
            return
        if isinstance(value, torch.Tensor):
            out.append((path, value))
        elif _is_cache(value):
            at = ".".join(str(p) for p in path) or "the result"
            raise UserError(
                key,
                "%s returns a %s (%s): the exporters cannot carry a cache of past keys and values; "
                "turn it off with use_cache=False in the model's config or in export.torch.kwargs" % (what, type(value).__name__, at),
            )
        elif isinstance(value, Mapping):
            for k in value.keys():
                visit(value[k], path + (str(k),))
        elif isinstance(value, (tuple, list)):
            for i, v in enumerate(value):
                visit(v, path + (i,))
        else:
            at = ".".join(str(p) for p in path) or "the result"
            raise UserError(key, "%s returns a %s at %s; the exporters carry tensors only (return it as a tensor, or leave it out)" % (what, type(value).__name__, at))

    visit(result, ())
    if not out:
        raise UserError(key, "%s returns no tensor" % what)
    return out


def names_of(paths, fmt):
    """Names for the flat outputs: the dict/ModelOutput keys that lead to each (`logits`,
    `hidden_states.2`), else `output__<i>` (`OUTPUT__<i>`, Triton's pytorch convention, for TorchScript)."""
    if fmt == "torchscript":
        return ["OUTPUT__%d" % i for i in range(len(paths))]
    names = []
    for i, path in enumerate(paths):
        keyed = [j for j, p in enumerate(path) if isinstance(p, str)]
        names.append(".".join(str(p) for p in path[keyed[0]:]) if keyed else "output__%d" % i)
    if len(set(names)) != len(names):
        names = [".".join(str(p) for p in path) if any(isinstance(p, str) for p in path) else "output__%d" % i for i, path in enumerate(paths)]
    if len(set(names)) != len(names):
        names = ["output__%d" % i for i in range(len(paths))]
    return names


__all__ = ["flatten", "names_of"]
