"""Excel's string items (<si>, <is>) and its _x00HH_ escapes, read the way calamine reads them."""
from __future__ import annotations

import re

# Excel writes a control character as _x000D_ (and a literal "_x000D_" as "_x005F_x000D_"); calamine undoes it.
_EXCEL_ESCAPE = re.compile(r"_x00([0-9A-Fa-f]{2}|\+[0-9A-Fa-f])_")
_XML_SPACE = " \t\r\n"


class _Text:
    """Collects one string item (<si> or <is>) the way calamine does: the <t> of every run, phonetic runs left out,
    each <t> trimmed of XML whitespace unless xml:space="preserve", Excel's _x00HH_ escapes undone."""

    __slots__ = ("parts", "t", "preserve", "rph")

    def __init__(self):
        self.parts: list[str] = []
        self.t: list[str] | None = None
        self.preserve = False
        self.rph = False

    def start(self, local: str, attrs) -> None:
        if local == "t" and not self.rph:
            self.t = []
            self.preserve = attrs.get("xml:space") == "preserve"
        elif local == "rPh":
            self.rph = True

    def end(self, local: str) -> None:
        if local == "t" and self.t is not None:
            text = "".join(self.t)
            if not self.preserve:
                text = text.strip(_XML_SPACE)
            self.parts.append(_unescape(text))
            self.t = None
        elif local == "rPh":
            self.rph = False

    def text(self, data: str) -> None:
        if self.t is not None:
            self.t.append(data)

    def value(self) -> str:
        return "".join(self.parts)


def _unescape(text: str) -> str:
    if "_x00" in text:
        return _EXCEL_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return text
