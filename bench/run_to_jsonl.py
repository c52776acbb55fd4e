#!/usr/bin/env python3
"""Convert a vendorscope run document into the generic JSONL that ../shared/bench/score.py reads.

The run never holds a raw credential (only redacted forms and keyed fingerprints), so the value
for scoring is read back from the scanned file itself at the reported byte offset. Only
exposures that fail the gate are emitted (not public by design, not test-mode) unless
--all is given.

  python3 bench/run_to_jsonl.py RUN.json [--all] > findings.jsonl
"""
import json
import sys


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    emit_all = "--all" in sys.argv
    run = json.load(open(args[0]))
    cache = {}
    for e in run.get("exposures", []):
        if not emit_all and (e.get("public_by_design") or e.get("environment") == "test"):
            continue
        # One exposure is one value at one place; each kept location is an occurrence.
        for loc in [e["location"]] + e.get("more_locations", []):
            path = loc.get("path")
            value = None
            if path and loc.get("offset") is not None and not loc.get("container"):
                if path not in cache:
                    try:
                        cache[path] = open(path, "rb").read()
                    except OSError:
                        cache[path] = b""
                n = (loc.get("end_column") or 0) - (loc.get("column") or 0)
                off = loc["offset"]
                value = cache[path][off:off + max(n, 0)].decode("utf-8", "replace") or None
            print(json.dumps({"path": path, "line": loc.get("line"), "value": value,
                              "rule": e["rule"], "public": e["public_by_design"]}))


if __name__ == "__main__":
    main()
