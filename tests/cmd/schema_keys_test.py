#!/usr/bin/env python3
"""The JSON schema names exactly the keys module/format.h lists.

    schema_keys_test.py [SCHEMA [FORMAT_H]]

Each object of cmd/apicv-trace.schema.json that mirrors a line of the
module must have, as properties and as required keys, the keys of that
line's list in module/format.h, plus what the command adds (written down
below, object by object) and with the pairs of keys it turns into one
object (last_set_ns + last_set_site -> last_set). A key added to the
header and not to the schema, or a schema key no line has, fails here.
Ends with "N passed, M failed".
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from tally import Tally  # noqa: E402
from format_h import FORMAT_H, read_format_h  # noqa: E402

SCHEMA = os.path.join(HERE, "..", "..", "cmd", "apicv-trace.schema.json")

# schema object (path in the schema), its line's key list, the keys the
# command adds, and the line keys it folds into one object key
OBJECTS = [
    (("$defs", "vm"), "AT_VMS_KEYS", {"extra"}, {}),
    (("$defs", "show", "properties", "vm"), "AT_STATE_HEAD_KEYS", {"extra"}, {}),
    (("$defs", "reason"), "AT_STATE_REASON_KEYS", {"hint", "extra"},
     {"last_set": ("last_set_ns", "last_set_site"),
      "last_clear": ("last_clear_ns", "last_clear_site")}),
    # alias: from the history's apic_id record; source: state or events
    (("$defs", "mismatch"), "AT_MISMATCH_KEYS", {"alias", "source"}, {}),
    (("$defs", "event"), "AT_EVENT_KEYS", {"schema_version", "kind", "extra"}, {}),
    (("$defs", "lost"), "AT_LOST_KEYS", {"schema_version", "kind", "extra"}, {}),
]

tally = Tally("schema_keys_test")
ok = tally.ok


def main():
    schema_path = sys.argv[1] if len(sys.argv) > 1 else SCHEMA
    f = read_format_h(sys.argv[2] if len(sys.argv) > 2 else FORMAT_H)
    with open(schema_path, encoding="utf-8") as fh:
        schema = json.load(fh)
    for path, lst, added, folded in OBJECTS:
        where = "/".join(path)
        obj = schema
        for p in path:
            obj = obj.get(p, {})
        if not ok(lst in f.lists, f"{lst} is in format.h"):
            continue
        if not ok("properties" in obj, f"{where}: an object with properties"):
            continue
        want = set(f.lists[lst]) | added
        for into, parts in folded.items():
            ok(set(parts) <= set(f.lists[lst]), f"{where}: {into} folds {parts}, keys of {lst}")
            want = (want - set(parts)) | {into}
        props = set(obj["properties"])
        ok(props == want, f"{where} vs {lst}: schema lacks {sorted(want - props)}, "
                          f"has no line key for {sorted(props - want)}")
        ok(set(obj.get("required", [])) == props, f"{where}: every property is required")
        ok(obj.get("additionalProperties") is False, f"{where}: no other keys allowed")
    return tally.done(f"{len(OBJECTS)} objects: ")


if __name__ == "__main__":
    sys.exit(main())
