"""Read module/format.h, the one definition of the debugfs line format.

    from format_h import read_format_h
    f = read_format_h()          # or read_format_h(path)
    f.lists["AT_EVENT_KEYS"]     # ["seq", "ns", ...], in print order
    f.formats["AT_FMT_EVENT"]    # the printf format, as one string
    f.pairs                      # [("AT_FMT_EVENT", "AT_EVENT_KEYS"), ...]
    f.strings["AT_MISMATCH_WORD"]

Parses the header as text (C comments removed, continuation lines
joined): key lists are `#define AT_<LIST>_KEYS(X)` bodies of
`X(key, "description")`, formats are `#define AT_FMT_<NAME>` bodies of
string literals only, AT_FORMATS(X) pairs each format with its key list.
Whatever it cannot read raises ValueError, so a change of the header's
shape fails the tests instead of passing them with nothing checked.
"""
import ast
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
FORMAT_H = os.path.join(HERE, "..", "..", "module", "format.h")

STRING = r'"(?:[^"\\\n]|\\.)*"'
TOKENS = re.compile(STRING + r"|/\*.*?\*/|//[^\n]*", re.S)
DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+(\w+)(\(X\))?[ \t]*(.*)$", re.M)
ENTRY = re.compile(r"\bX\(\s*(\w+)\s*,\s*(" + STRING + r")\s*\)")
PAIR = re.compile(r"\bX\(\s*(AT_FMT_\w+)\s*,\s*(AT_\w+_KEYS)\s*\)")
LITERALS = re.compile(r"\s*(?:" + STRING + r"\s*)+")


class FormatH:
    def __init__(self):
        self.lists = {}      # AT_<LIST>_KEYS -> [key, ...]
        self.formats = {}    # AT_FMT_<NAME> -> format string
        self.pairs = []      # (AT_FMT_<NAME>, AT_<LIST>_KEYS), from AT_FORMATS
        self.strings = {}    # other string macros (AT_MISMATCH_WORD)


def c_string(literals):
    """The value of adjacent C string literals (the escapes format.h uses)."""
    return "".join(ast.literal_eval(s) for s in re.findall(STRING, literals))


def read_format_h(path=FORMAT_H):
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    text = TOKENS.sub(lambda m: m.group(0) if m.group(0).startswith('"') else " ", text)
    text = re.sub(r"\\\n", " ", text)
    f = FormatH()
    for m in DEFINE.finditer(text):
        name, is_x, body = m.group(1), m.group(2), m.group(3).strip()
        if is_x and name == "AT_FORMATS":
            f.pairs = PAIR.findall(body)
            if len(f.pairs) != body.count("X("):
                raise ValueError(f"{path}: AT_FORMATS: an entry is not X(AT_FMT_..., AT_..._KEYS)")
        elif is_x:
            entries = ENTRY.findall(body)
            if not name.endswith("_KEYS") or len(entries) != body.count("X("):
                raise ValueError(f"{path}: {name}: an entry is not X(key, \"description\")")
            f.lists[name] = [k for k, _ in entries]
        elif name.startswith("AT_FMT_"):
            if not LITERALS.fullmatch(body):
                raise ValueError(f"{path}: {name} is not a plain string literal: {body}")
            f.formats[name] = c_string(body)
        elif LITERALS.fullmatch(body or "x"):
            f.strings[name] = c_string(body)
    if not f.lists or not f.formats or not f.pairs:
        raise ValueError(f"{path}: no key lists, formats or AT_FORMATS found")
    return f


def format_keys(fmt):
    """The keys of a printf format: every word right before a '='."""
    return re.findall(r"([A-Za-z_]\w*)=", fmt)
