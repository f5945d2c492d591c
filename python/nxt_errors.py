"""How nx-triton's Python helpers tell the user what went wrong: one line per problem, at the user's own
file and line where there is one, with a hint only where the hint is right. The full traceback is
added only when Nx runs verbose (NX_VERBOSE_LOGGING=true, `nx run ... --verbose`) or
NX_TRITON_VERBOSE=1.
"""

import os
import re
import sys
import traceback


class UserError(Exception):
    """A problem for the user to fix; `key` is the triton.yaml key path it belongs to."""

    def __init__(self, key, message):
        Exception.__init__(self, message)
        self.key = key
        self.message = message


def verbose():
    return os.environ.get("NX_VERBOSE_LOGGING") == "true" or os.environ.get("NX_TRITON_VERBOSE") not in (None, "", "0")


def _inside(path, root):
    try:
        return os.path.commonpath([os.path.abspath(path), os.path.abspath(root)]) == os.path.abspath(root)
    except ValueError:
        return False


def _is_user_file(path, project_dir):
    """A file of the project, not of an installed package and not of nx-triton's helpers."""
    here = os.path.dirname(os.path.abspath(__file__))
    if _inside(path, here) or "site-packages" in path or "dist-packages" in path or path.startswith("<"):
        return False
    return _inside(path, project_dir)


def user_frame(exc, project_dir):
    """`net.py:12` — the innermost traceback frame in the user's own files, or None."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _is_user_file(f.filename, project_dir)]
    while not frames and exc.__cause__ is not None:
        exc = exc.__cause__
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if _is_user_file(f.filename, project_dir)]
    if not frames:
        return None
    f = frames[-1]
    return "%s:%d" % (os.path.relpath(f.filename, project_dir), f.lineno)


USER_FILE_IN_TEXT = re.compile(r'File "([^"]+)", line (\d+)')


def frame_in_text(text, project_dir):
    """The last `File "...", line N` of the user's files that a message quotes (torch.export quotes them)."""
    found = None
    for path, line in USER_FILE_IN_TEXT.findall(text):
        if _is_user_file(path, project_dir):
            found = "%s:%s" % (os.path.relpath(path, project_dir), line)
    return found


def first_line(exc):
    """`Type: its first line` (and the next when the first ends with a colon)."""
    text = [l.strip() for l in str(exc).strip().split("\n") if l.strip()]
    shown = " ".join(text[:2]) if len(text) > 1 and text[0].endswith(":") else (text[0] if text else "")
    return "%s: %s" % (type(exc).__name__, shown)


def root_cause(exc):
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def syntax_error(exc, project_dir):
    """`net.py:3:9: SyntaxError: invalid syntax` and the line with its caret."""
    where = os.path.relpath(exc.filename, project_dir) if exc.filename and _inside(exc.filename, project_dir) else (exc.filename or "?")
    lines = ["%s:%s:%s: %s: %s" % (where, exc.lineno or "?", exc.offset or "?", type(exc).__name__, exc.msg)]
    if exc.text:
        text = exc.text.rstrip("\n")
        lines.append("    " + text)
        if exc.offset:
            lines.append("    " + " " * (exc.offset - 1) + "^")
    return "\n".join(lines)


# The dtype a torch op wanted, in torch's own words (embedding: "scalar types: Long, Int; but got torch.FloatTensor").
DTYPE_PROBLEM = re.compile(r"scalar type|Long, Int|expected .*(Long|Int|Float|Half|Bool)|dtype", re.I)


def failure(key, what, exc, project_dir, hint=None):
    """`<what> failed at net.py:12: <Type>: <message>` as a UserError, plus a hint where one is right."""
    if isinstance(exc, SyntaxError):
        message = "%s: %s" % (what, syntax_error(exc, project_dir))
    else:
        where = user_frame(exc, project_dir) or frame_in_text(str(exc), project_dir)
        message = "%s failed%s: %s" % (what, " at " + where if where else "", first_line(exc))
        if hint is None and DTYPE_PROBLEM.search(str(exc)):
            hint = "an input has the wrong type for the op that reads it (token ids must be integers): set its dtype in export.torch.example_inputs (e.g. input_ids: { randint: [0, 30522] }, which is int64, or { constant: 0, dtype: int64 })"
    if hint:
        message += "; " + hint
    if verbose():
        message += "\n" + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip()
    return UserError(key, message)


def is_data_dependent(exc):
    """torch.export refused a branch, loop or size that depends on a tensor's values."""
    names = ("GuardOnDataDependentSymNode", "DataDependentOutputException", "PendingUnbackedSymbolNotFound")
    text = "%s %s" % (type(exc).__name__, exc)
    return any(n in text for n in names) or "data-dependent" in text or "data dependent" in text or "Dynamic control flow" in text


__all__ = ["UserError", "failure", "first_line", "root_cause", "is_data_dependent", "frame_in_text", "user_frame", "verbose", "syntax_error"]
