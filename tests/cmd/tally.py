"""What the Python tests of tests/cmd share: counting checks, and two
helpers for the tests that copy fixtures or wait for the command.

    from tally import Tally
    t = Tally("format_keys_test")
    t.ok(cond, "what is wrong if cond is false")
    sys.exit(t.done())     # prints "name: N passed, M failed"; 1 on failure
"""
import os
import shutil
import subprocess
import sys


def fresh_copy(src, tmp, name):
    """A fresh copy of fixture directory @src/@name in @tmp/@name."""
    d = os.path.join(tmp, name)
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(os.path.join(src, name), d)
    return d


def wait_rc(p, timeout=10):
    """@p's exit status, or "timeout" (and @p killed) after @timeout s."""
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        return "timeout"


class Tally:
    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0

    def ok(self, cond, what):
        """Count @cond; say @what on stderr when it is false."""
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL: {what}", file=sys.stderr)
        return cond

    def done(self, detail=""):
        """Print the counts; the exit code (1 if anything failed or nothing ran)."""
        print(f"{self.name}: {detail}{self.passed} passed, {self.failed} failed")
        return 1 if self.failed or not self.passed else 0
