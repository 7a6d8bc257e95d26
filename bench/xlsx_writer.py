"""Large .xlsx files for benchmarks, written part by part with shared strings as Excel writes them (openpyxl is too slow)."""
from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def _letters(n: int) -> list[str]:
    out = []
    for i in range(n):
        s, i = "", i + 1
        while i:
            i, r = divmod(i - 1, 26)
            s = chr(65 + r) + s
        out.append(s)
    return out


def write_workbook(path: Path, sheets: list[tuple[str, object]], width: int) -> None:
    """sheets: (name, rows) with rows an iterable of lists (str, int, float or None), written in order."""
    strings: dict[str, int] = {}
    cols = _letters(width)

    def cell(ref: str, v) -> str:
        if v is None:
            return ""
        if isinstance(v, (int, float)):
            return f'<c r="{ref}"><v>{v}</v></c>'
        return f'<c r="{ref}" t="s"><v>{strings.setdefault(v, len(strings))}</v></c>'

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for number, (_, rows) in enumerate(sheets, start=1):
            with z.open(f"xl/worksheets/sheet{number}.xml", "w", force_zip64=True) as fh:
                fh.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{MAIN_NS}" '
                         f'xmlns:r="{REL_NS}"><sheetData>'.encode())
                buf = []
                for r, row in enumerate(rows, start=1):
                    buf.append(f'<row r="{r}">' + "".join(cell(f"{c}{r}", v) for c, v in zip(cols, row)) + "</row>")
                    if len(buf) == 5000:
                        fh.write("".join(buf).encode())
                        buf.clear()
                fh.write(("".join(buf) + "</sheetData></worksheet>").encode())
        shared_strings(z, strings)
        package_parts(z, [name for name, _ in sheets])
    tmp.rename(path)


def shared_strings(z: zipfile.ZipFile, strings: dict[str, int]) -> None:
    """The shared-strings part: strings in the order of their indexes (dict insertion order)."""
    z.writestr("xl/sharedStrings.xml", f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN_NS}" '
               f'count="{len(strings)}" uniqueCount="{len(strings)}">'
               + "".join(f'<si><t xml:space="preserve">{escape(t)}</t></si>' for t in strings) + "</sst>")


def package_parts(z: zipfile.ZipFile, sheet_names: list[str], styles: str | None = None) -> None:
    """Everything of a workbook but its sheets and shared strings: workbook, relationships, content types."""
    z.writestr("xl/styles.xml", styles or f'<?xml version="1.0"?><styleSheet xmlns="{MAIN_NS}"><cellXfs count="1">'
               '<xf numFmtId="0"/></cellXfs></styleSheet>')
    z.writestr("xl/workbook.xml", f'<?xml version="1.0"?><workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheets>'
               + "".join(f'<sheet name="{escape(n)}" sheetId="{i}" r:id="rId{i}"/>'
                         for i, n in enumerate(sheet_names, start=1)) + "</sheets></workbook>")
    n = len(sheet_names)
    z.writestr("xl/_rels/workbook.xml.rels", f'<?xml version="1.0"?><Relationships xmlns="{PKG_REL_NS}">'
               + "".join(f'<Relationship Id="rId{i}" Type="{REL_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                         for i in range(1, n + 1))
               + f'<Relationship Id="rId{n + 1}" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
               f'<Relationship Id="rId{n + 2}" Type="{REL_NS}/styles" Target="styles.xml"/></Relationships>')
    z.writestr("_rels/.rels", f'<?xml version="1.0"?><Relationships xmlns="{PKG_REL_NS}"><Relationship '
               f'Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
               'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
               '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
               f'<Override PartName="/xl/workbook.xml" ContentType="{CT}.sheet.main+xml"/>'
               + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{CT}.worksheet+xml"/>'
                         for i in range(1, n + 1))
               + f'<Override PartName="/xl/sharedStrings.xml" ContentType="{CT}.sharedStrings+xml"/>'
               f'<Override PartName="/xl/styles.xml" ContentType="{CT}.styles+xml"/></Types>')
