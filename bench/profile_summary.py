"""Summarises a py-spy profile (`py-spy record -f raw`): the share of samples spent inside each function or
module, inclusive, so a flame graph reads as a table in docs/benchmarks.md.

    .venv/bin/py-spy record --subprocesses -r 100 -f raw -o var/profile.raw -- .venv/bin/misgw sync ...
    .venv/bin/python bench/profile_summary.py var/profile.raw --top 30
"""
from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# A frame as py-spy writes it: "function (path/to/file.py:line)".
FRAME = re.compile(r"^(?P<function>.*?) \((?P<path>[^:()]*)(?::\d+)?\)$")


def _place(path: str) -> str:
    """The module a frame is in, as a reader knows it: site-packages and the repo prefix dropped."""
    path = path.split("site-packages/")[-1]
    for root in ("misgw/", "mis/", "mappings/", "expectations/", "connectors/", "common/"):
        if f"/{root}" in path:
            path = root + path.split(f"/{root}", 1)[1]
    return path


def summarise(lines, by: str = "function") -> tuple[int, Counter]:
    """(total samples, samples inside each key); a key counts once per stack, however deep it recurs."""
    total, inside = 0, Counter()
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        total += samples
        keys = set()
        for frame in stack.split(";"):
            m = FRAME.match(frame)
            if not m:
                continue
            place = _place(m["path"])
            keys.add(place if by == "module" else f"{m['function']} ({place})")
        for key in keys:
            inside[key] += samples
    return total, inside


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("raw", type=Path)
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--by", choices=("function", "module"), default="function")
    ap.add_argument("--match", help="only keys containing this text (e.g. misgw/ or great_expectations)")
    args = ap.parse_args()
    with open(args.raw, encoding="utf-8") as fh:
        total, inside = summarise(fh, args.by)
    print(f"{total} samples")
    shown = [(k, v) for k, v in inside.most_common() if not args.match or args.match in k][: args.top]
    for key, samples in shown:
        print(f"{100 * samples / total:5.1f}%  {key}")


if __name__ == "__main__":
    main()
