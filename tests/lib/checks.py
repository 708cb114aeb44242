# SPDX-License-Identifier: GPL-2.0
"""The tally of the e2e and stress checkers, and what both check alike.

check() prints "ok  NAME" or "FAIL NAME: detail" and counts it in PASSED
or FAILED; a checker's last line gives the counts. read() reads a result
file, a missing one being a failed check named after its path relative
to BASE (the results directory, set by the checker's main).
"""
import os

from atlines import reason_names

PASSED = []
FAILED = []
BASE = "."


def check(name, cond, detail=""):
    cond = bool(cond)
    (PASSED if cond else FAILED).append(name)
    print(f"{'ok  ' if cond else 'FAIL'} {name}" + ("" if cond else f": {detail}"))
    return cond


def read(path):
    """A result file's text; '' (and a failed check) if it is missing."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError as e:
        check(f"file {os.path.relpath(path, BASE)} exists", False, str(e))
        return ""


def parse_reasons(text):
    """The reasons file as a list of names by bit (must be 0..n-1)."""
    names = reason_names(text)
    check(f"reasons: a name for every bit 0..{len(names) - 1}",
          names and "unknown" not in names, text[:300])
    return names
