"""The small pieces every .xlsx part read needs: a size-bounded part stream, expat helpers, column letters."""
from __future__ import annotations

from xml.parsers import expat

from connectors.cells import SourceFileError


class _Stop(Exception):
    """Ends a parse early once the wanted element has been seen."""


class _Bounded:
    """A part's stream that refuses to give more bytes than the part declares: the header cannot lie about a bomb."""

    def __init__(self, stream, declared: int, label: str):
        self.stream, self.declared, self.label, self.seen = stream, declared, label, 0

    def read(self, n: int = -1) -> bytes:
        # One byte beyond the declared size is asked for, so a part that keeps going is caught.
        room = self.declared + 1 - self.seen
        data = self.stream.read(room if n < 0 else min(n, room) or 1)
        self.seen += len(data)
        if self.seen > self.declared:
            raise SourceFileError(f"{self.label} unpacks to more than the {self.declared} bytes it declares: "
                                  f"refused as a zip bomb.")
        return data

    def close(self) -> None:
        self.stream.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _local(tag: str) -> str:
    return tag.rpartition(":")[2]


def _parse_bytes(data: bytes, start) -> None:
    p = expat.ParserCreate()
    p.StartElementHandler = start
    p.Parse(data, True)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1
