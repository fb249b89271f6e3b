"""Command-line entry points (`python -m emogcn.bin.<tool>`): each parses its arguments and calls the
library. Standard library only here: importing a tool must cost no more than the tool itself needs
(perturb_speed runs once per utterance and imports no torch)."""

from __future__ import annotations

import sys


class ErrorExit:
    """How a tool turns its expected failures into one line and exit status 1:

        with ErrorExit("make_folds", (DataDirError, ValueError)) as run:
            ...
        return run.status          # 0, or 1 after an error of the given types

    An exception of `errors` raised in the block is printed as `<prog>: error: <message>` on
    stderr (with one_line, its white space folded into single spaces) and not raised further;
    `status` becomes 1. Other exceptions pass through.
    """

    def __init__(self, prog: str, errors: type[BaseException] | tuple[type[BaseException], ...],
                 one_line: bool = False):
        self.prog = prog
        self.errors = errors
        self.one_line = one_line
        self.status = 0

    def __enter__(self) -> "ErrorExit":
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        if kind is None or not issubclass(kind, self.errors):
            return False
        message = " ".join(str(error).split()) if self.one_line else error
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        self.status = 1
        return True
