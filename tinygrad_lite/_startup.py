"""Ctrl-C while the `tinygrad-lite` command is still importing the package: one line, exit 130.

The console script imports tinygrad_lite (NumPy and all) before cli.main can catch anything, so
an early Ctrl-C used to print a traceback. When this process is the command (its argv[0] is the
script, or `python -m tinygrad_lite` is locating the package), SIGINT exits quietly until
cli.main puts Python's own handler back. Any other process that imports the package is left
alone.
"""
from __future__ import annotations

import os
import signal
import sys


def _quiet_exit(signum, frame):
    os.write(2, b"tinygrad-lite: interrupted\n")
    os._exit(130)


def guard_command_startup() -> None:
    argv0 = os.path.basename(sys.argv[0]) if sys.argv else ""
    if argv0 not in ("tinygrad-lite", "-m") or signal.getsignal(signal.SIGINT) \
            is not signal.default_int_handler:
        return
    try:
        signal.signal(signal.SIGINT, _quiet_exit)
    except ValueError:          # not the main thread: nothing to guard
        pass


def end_guard() -> None:
    """Back to KeyboardInterrupt (cli.main reports it with the checkpoint it kept)."""
    if signal.getsignal(signal.SIGINT) is _quiet_exit:
        signal.signal(signal.SIGINT, signal.default_int_handler)
