"""What the Python tests of tests/cmd share: counting checks.

    from tally import Tally
    t = Tally("format_keys_test")
    t.ok(cond, "what is wrong if cond is false")
    sys.exit(t.done())     # prints "name: N passed, M failed"; 1 on failure
"""
import sys


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
