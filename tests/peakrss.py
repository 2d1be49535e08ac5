"""Peak resident memory of a command run in a subprocess.

Measured from a small Python parent, not from the caller: Linux carries a forked
process's high-water mark over exec into ``ru_maxrss``, so a child forked from
pytest (hundreds of MB) would report at least pytest's size.
"""

from __future__ import annotations

import subprocess
import sys

_PARENT = r"""
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024, file=sys.stderr)
sys.exit(done.returncode)
"""


def run_measured(command: list[str], **kwargs) -> tuple[subprocess.CompletedProcess, int]:
    """``subprocess.run(command, capture_output=True, text=True, **kwargs)`` and its peak RSS in bytes.

    The peak is taken off the end of the captured stderr, which is left as the command wrote it.
    """
    done = subprocess.run([sys.executable, "-c", _PARENT, *map(str, command)], capture_output=True, text=True, **kwargs)
    head, _, last = done.stderr.rstrip("\n").rpartition("\n")
    done.stderr = head + "\n" if head else ""
    return done, int(last)
