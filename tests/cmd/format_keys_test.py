#!/usr/bin/env python3
"""The printf formats of module/format.h use only keys their key list has.

    format_keys_test.py [FORMAT_H]

For every AT_FMT_* string: it is paired in AT_FORMATS with the key list
its name says (the longest AT_<LIST>_KEYS whose <LIST> starts the name),
and each `key=` in it is a key of that list. Each key list has no key
twice and no key that none of its formats prints. So a key added to a
format but not to its list (which the command would put in "extra"), or
a list that keeps a key no format prints any more, fails here. Ends with
"N passed, M failed".
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tally import Tally  # noqa: E402
from format_h import FORMAT_H, format_keys, read_format_h  # noqa: E402

tally = Tally("format_keys_test")
ok = tally.ok


def own_list(fmt_name, lists):
    """AT_FMT_STATUS_HOOK_ERROR -> AT_STATUS_HOOK_KEYS: the longest match."""
    part = fmt_name[len("AT_FMT_"):]
    best = None
    for name in lists:
        stem = name[len("AT_"):-len("_KEYS")]
        if (part == stem or part.startswith(stem + "_")) and (best is None or len(stem) > len(best[1])):
            best = (name, stem)
    return best[0] if best else None


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else FORMAT_H
    f = read_format_h(path)
    paired = dict(f.pairs)
    ok(len(paired) == len(f.pairs), "AT_FORMATS names each format once")
    for name in sorted(set(f.formats) | set(paired)):
        ok(name in f.formats, f"{name} (in AT_FORMATS) is defined")
        ok(name in paired, f"{name} is listed in AT_FORMATS")
        lst = paired.get(name)
        ok(lst in f.lists, f"{name}: its key list {lst} is defined")
        ok(lst == own_list(name, f.lists),
           f"{name}: AT_FORMATS pairs it with {lst}, its name says {own_list(name, f.lists)}")
        if name not in f.formats or lst not in f.lists:
            continue
        for key in format_keys(f.formats[name]):
            ok(key in f.lists[lst], f"{name}: key {key}= is not in {lst}")
    for lst, keys in sorted(f.lists.items()):
        ok(len(keys) == len(set(keys)), f"{lst}: a key is listed twice: {keys}")
        printed = set()
        for name, l2 in f.pairs:
            if l2 == lst and name in f.formats:
                printed.update(format_keys(f.formats[name]))
        for key in keys:
            ok(key in printed, f"{lst}: key {key} is in no format of {lst}")
    return tally.done(f"{len(f.formats)} formats, {len(f.lists)} key lists: ")


if __name__ == "__main__":
    sys.exit(main())
