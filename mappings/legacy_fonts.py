"""Text typed in the legacy Vietnamese fonts (TCVN3/ABC, VNI-Windows): detected cell by cell, converted to NFC.

What arrives
------------
A workbook cell is already Unicode, but a cell typed in a legacy font holds the Windows-1252
characters of the font's byte codes (the font drew those codes as Vietnamese letters):
"NguyÔn V¨n An" (TCVN3) and "Nguyeãn Vaên An" (VNI) both mean "Nguyễn Văn An". Python has no codec for
either. (Latin-1 and Windows-1252 agree on every code either table uses, so an old .xls read as
Latin-1 gives the same characters.)

The tables, from the published character maps
---------------------------------------------
TCVN3 = TCVN 5712:1993 VN3 (VSCII-3), the ABC fonts .VnTime/.VnArial: one byte per letter, 67
lower-case letters and 7 capitals (Ă Â Ê Ô Ơ Ư Đ at 0xA1-0xA7), nothing in 0x80-0x9F. Toned
capitals have no code: they were typed with the capitals font (.VnTimeH) using the lower-case
codes, so case has to be inferred (see `_tcvn3_case`). Transcribed from, and checked against:
  - UniKey's converter, VnConv `SingleByteTables` "TCVN3" row (ukengine/data.cpp, Pham Kim Long;
    e.g. github.com/vn-input/ibus-unikey), which also maps toned capitals to the lower-case codes;
  - the X11/libiconv TCVN-5712 table (lcUniConv/tcvn.h, e.g. github.com/fcitx/xcb-imdkit) and
    glibc iconv's TCVN5712-1, whose 0xA0-0xFF range is VN3 (tests/mappings/test_legacy_fonts.py compares
    every code against `iconv -f TCVN5712-1` when iconv is installed);
  - Wikipedia, "VSCII": VN3 adds 67 lower-case letters, 7 capitals and NBSP; toned capitals come
    from an all-capitals font.
VNI-Windows (VNI-Times): a base letter followed by a diacritic character -- tones ù ø û õ ï
(sắc huyền hỏi ngã nặng), circumflex â á à å ã ä (â and â+tone), breve ê é è ú ü ë (ă and ă+tone) --
and single characters ô/Ô = ơ/Ơ, ö/Ö = ư/Ư, ñ/Ñ = đ/Đ, í ì æ ó ò = í ì ỉ ĩ ị, î = ỵ; capitals use the
upper-case forms of the same characters (AÙ = Á). Transcribed from UniKey VnConv `DoubleByteTables`
"VNI-WIN" (same file; each entry = base byte + mark byte) and the xvnkb table (github.com/lamdao/xvnkb,
vni.h); the two agree.
Published examples used in the tests: "Xin chaøo caùc baïn", "Toâi ñi hoïc" (VNI) and "Xin chµo c¸c b¹n",
"T«i ®i häc" (TCVN3) from github.com/duydev/vietnamese-conversion tests/helpers/test-data.ts;
"Ninh B×nh" from github.com/backupvietsoft/HRM ConvertVNI/XtraForm1.cs.

Deciding, cell by cell
----------------------
Every word that has a non-ASCII character is read three ways (as written, TCVN3, VNI). A legacy
reading is plausible when every non-ASCII letter is a code of that table and every such word comes
out a Vietnamese syllable: onset, vowel nucleus and coda from the standard inventory, at most one
tone, on the vowel orthography puts it on (mái not maí, tiến not tíên; hóa or hoá), c/ch/p/t only
with sắc or nặng, gh/ngh only before e ê i, written lower, Title or UPPER case (or with a
capitalised consonant cluster, as official names write KRông, HBông). Text as written is held to the same shape but
with any coda after any nucleus (and the silent e Khmer names end on, "Rươne"), so Unicode names outside
the standard rhymes (Khmer "Mônh") stay Unicode: turning real Unicode into something else is the worst
mistake this module can make. Then:
  - ASCII: 'ascii', untouched.
  - letters beyond Windows-1252 (ễ ư đ ạ, combining marks): 'unicode' (returned NFC), unless a word
    in it has legacy characters (below) and reads only through a legacy table ("Nguyễn V¨n An":
    pasted halves) -> 'uncertain';
  - the cell reads as Vietnamese as written -> 'unicode'. When a legacy reading is plausible too
    ("Má", "Lê Thanh Tâm" are TCVN3 for "Mỏ", "Lờ Thanh Tõm"; VNI "Hoà Thò An" is "Hồ Thị An"), the
    column decides in `decode_series`, by what it proves:
      - a column with definite Unicode in it (a Vietnamese word with a letter no legacy font gives
        through Windows-1252: ư ơ đ ă ạ ễ ..., "Nguyễn Văn Tư") holds Unicode, perhaps beside legacy
        cells: there a cell of standard syllables as written, with no symbol, pair or broken case,
        is never converted, so that neighbours never rewrite a correct cell. It stays 'unicode' ("Má",
        "Lý Sô Phol"), unless its reading in a legacy font the column shows (cells that read only
        through that font) is likelier: more syllables common in names and places
        (mappings/common_syllables.yaml) than as written (TCVN3 "Tõ Tè Huy" is "Từ Tố Huy", "Khóc Kim
        Nga" is "Khúc Kim Nga"), or, in a column of people's names, as many and a family name opening
        it that the text as written does not open with (VNI "Hoà Gia Oanh" is "Hồ Gia Oanh"). Then it
        is 'uncertain', kept as written and turned back, not loaded as clean. A column that shows no
        legacy font holds nothing back;
      - a column without one, whose unambiguous cells are in a legacy font, is a legacy column: there
        the cell is read like its neighbours (TCVN3 "Tõ Hoa Hai" -> "Từ Hoa Hai", "Cã" -> "Có");
      - a cell that reads as written only leniently ("Vâ Minh Long", TCVN3 for "Võ Minh Long"), and
        any two-way cell outside a Unicode column, follows the column's evidence (`_resolve`).
    The price, in a column holding both: a Unicode cell of uncommon syllables whose legacy reading is
    common is turned back ("Tè", "Vò": TCVN3 "Tố", "Vũ"); a legacy cell whose reading is no likelier
    than the text as written stays as written beside Unicode (VNI "La Hoà Oanh" for "La Hồ Oanh",
    "Vi Hoàng Thoa" for "Vi Hồng Thoa": a few in a thousand VNI names, none for TCVN3, in generated
    names); and in a legacy column a Unicode cell within Windows-1252 is read as legacy ("Má" -> "Mỏ");
  - a legacy reading counts only with the font's characteristic characters in the cell: TCVN3
    symbol codes (¨ © ® µ ¸ ...), VNI vowel + mark pairs (aù eâ oâ ...), broken case (NguyÔn), or
    Latin-1 letters Vietnamese does not use (ï ñ ö ...). Without them a cell is Unicode, however
    unusual ("Xã Ia RTô"), with any legacy reading only an alternative for the column to weigh;
  - exactly one legacy reading plausible -> that encoding; both -> 'uncertain';
  - none: a name outside the standard rhymes typed in a legacy font (VNI "Kim Thò Sa Röône" for the
    Khmer "Kim Thị Sa Rươne", TCVN3 "Kp¨" for "Kpă") is read through its table with the leniency
    given to text as written, when a symbol, a pair, broken case or two legacy characters back it:
    one table -> that encoding, both -> 'uncertain';
  - none at all, but symbols, pairs or broken case, or a word only a legacy table makes Vietnamese
    ("Düne": TCVN3 "Dỹne") -> 'uncertain'; otherwise Latin-1 text Vietnamese in no reading ("José
    Müller") -> 'unicode', keeping the foreign letter for `outside_orthography` to name.

Case after TCVN3
----------------
VN3 has no toned capitals, so "Ánh" was typed "¸nh" and its case is inferred (`_tcvn3_case`). A column
of names (people, hamlets, communes) is decoded with proper_names=True: every syllable of a name is
capitalised ("T¨ng ¸nh ý" -> "Tăng Ánh Ý"), which the text alone cannot show.

What is left: `outside_orthography`
-----------------------------------
Whatever no table read keeps its characters ("José Müller", a TCVN3 cell that reads as nothing):
`outside_orthography` names each letter Vietnamese orthography does not write, each TCVN3 symbol code
and each stray combining mark, for the rules to turn down; a clean cell gives "".
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import numpy as np
import pandas as pd

from mappings.legacy_font_detection import _assess, _legacy_reading_likelier, _people_column, _reading_ok, _resolve
from mappings.legacy_font_detection import _common_words as _common_words
from mappings.legacy_font_tables import _BEYOND_CP1252, _VOWELS, _WORD, _toned
from mappings.legacy_font_tables import LEGACY as LEGACY
from mappings.legacy_font_tables import TCVN3 as TCVN3
from mappings.legacy_font_tables import VNI as VNI
from mappings.legacy_font_tables import encode as encode
from mappings.legacy_font_tables import from_unicode as from_unicode
from mappings.legacy_font_tables import to_unicode as to_unicode
from mappings.text import map_distinct
from mappings.vietnamese_syllables import _word_ok as _word_ok

LABELS = ("ascii", "unicode", "tcvn3", "vni", "uncertain")

# ------------------------------------------------------------------ orthography
# The letters of Vietnamese orthography, NFC: the 12 vowels in 6 tones, both cases, and đ Đ; with the
# ASCII letters (f j w z write minority names: Y Wang, H'Zen, Ksor H'Ju) nothing else is a letter.
_VIETNAMESE_LETTERS = frozenset(
    [*(ch for base in _VOWELS for letter in _toned(base) for ch in (letter, letter.upper())), "đ", "Đ"])
_NOT_ORTHOGRAPHY = re.compile("[^\x00-\x7f" + "".join(sorted(_VIETNAMESE_LETTERS)) + "]")
_APOSTROPHES = frozenset("\u02bc\u02bb")                # modifier letters that serve as H'Zen's apostrophe


@lru_cache(maxsize=1 << 16)
def _outside(text: str) -> str:
    found: list[str] = []
    for ch in _NOT_ORTHOGRAPHY.findall(unicodedata.normalize("NFC", text)):
        if ch in found or ch.isspace() or ch in _APOSTROPHES:
            continue
        kind = unicodedata.category(ch)[0]
        # A letter; a combining mark NFC left standing (no Vietnamese letter takes it); or any code of
        # U+0080-U+00FF, where TCVN3 keeps its letters (¨ © µ ¸ ×): what no Vietnamese text holds.
        if kind in "LM" or ord(ch) <= 0xFF:
            found.append(ch)
    return "".join(found)


def outside_orthography(text) -> str:
    """The characters of `text` outside Vietnamese orthography, in order, each once; "" when clean.

    Text that came through `decode_series` still holds what no table read: a foreign letter ("José
    Müller" -> "ü"; VNI "Röône" left undecoded -> "ö"), or TCVN3 symbol codes ("NguyÔn V¨n An" -> "¨":
    Ô is a Vietnamese letter). Letters: a-z, A-Z, đ Đ, and a ă â e ê i o ô ơ u ư y with one of the
    five tones or none, NFC or NFD. Digits, spaces and punctuation are no letters and pass, but for
    U+0080-U+00FF, where every non-letter is a TCVN3 code.
    """
    if not isinstance(text, str) or text.isascii():
        return ""
    return _outside(text)


def outside_orthography_series(values: pd.Series) -> pd.Series:
    """`outside_orthography` over a column, once per distinct value: string dtype, <NA> when clean or blank."""
    if not isinstance(values, pd.Series):
        values = pd.Series(values, dtype=object)
    return map_distinct(values, lambda v: outside_orthography(v) or None)



# ------------------------------------------------------------------ detection
def detect(text: str) -> str:
    """'ascii', 'unicode', 'tcvn3', 'vni' or 'uncertain' for one cell, on the cell alone.

    A cell that reads as Vietnamese both as written and through a legacy table ("Lê Thanh Tâm" is
    also TCVN3 for "Lờ Thanh Tõm") is 'unicode' here; `decode_series` lets its column decide.
    """
    return _assess(text).label


def legacy_candidates(text: str) -> list[str]:
    """The legacy encodings under which the cell reads as Vietnamese and differs from itself."""
    if text.isascii() or _BEYOND_CP1252.search(text):
        return []
    nfc = unicodedata.normalize("NFC", text)
    words = _WORD.findall(nfc)
    idx = [i for i, w in enumerate(words) if not w.isascii()]
    return [enc for enc in LEGACY if to_unicode(text, enc) != nfc and _reading_ok(text, enc, words, idx)]


def decode_series(values: pd.Series, *, proper_names: bool = False) -> tuple[pd.Series, pd.Series]:
    """(text with legacy cells converted and Unicode in NFC, label per cell); once per distinct value.

    Labels: ascii, unicode, tcvn3, vni, uncertain; None for cells that are not text (kept as they
    are). A cell plausible in more than one reading follows the column:
      - in a column with definite Unicode (a Vietnamese word with a letter beyond Windows-1252,
        "Nguyễn Văn Tư"), a cell of standard Vietnamese syllables as written, with no symbol, pair or
        broken case, stays as written ("Má" stays "Má", not TCVN3 "Mỏ"), unless its reading in a legacy
        font the column's unambiguous cells are in is a likelier name (`_legacy_reading_likelier`: TCVN3
        "Tõ Tè Huy" is "Từ Tố Huy", of more common syllables), or as likely and opens with a family name
        ('uncertain', held back);
      - otherwise, and for a cell that reads as written only leniently, its readings are compared with
        the encodings the column's unambiguous Vietnamese cells are in. One match decides it ("Sè" in a
        column of TCVN3 cells is "Số"; "Vâ Minh Long" is "Võ Minh Long"); none leaves it Unicode if it
        reads so; in a column with several (Unicode and TCVN3 cells, or TCVN3 and VNI) the reading of
        more common syllables (mappings/common_syllables.yaml) wins, and a tie leaves it 'uncertain'.

    proper_names: the column holds names of people or places (full name, hamlet, commune), so a TCVN3
    cell gets a capital on every syllable: "T¨ng ¸nh ý" -> "Tăng Ánh Ý" (see `_tcvn3_case`).
    """
    if not isinstance(values, pd.Series):
        values = pd.Series(values, dtype=object)
    cells = values.to_numpy(dtype=object)
    is_text = np.fromiter((isinstance(v, str) for v in cells), dtype=bool, count=len(cells))
    codes, distinct = pd.factorize(cells[is_text])
    verdicts = [_assess(v) for v in distinct]
    evidence = {v.label for v in verdicts if v.vietnamese}
    # A column with definite Unicode in it (a Vietnamese letter beyond Windows-1252: "Nguyễn Văn Tư") is
    # a Unicode or mixed column: there a cell of standard syllables as written stays Unicode, whatever
    # else the column holds. Without one, the column's legacy cells decide it (`_resolve`).
    unicode_column = any(v.definite for v in verdicts)
    # When it also holds cells in a legacy font, a legacy cell of standard syllables would stay as written
    # there, wrongly ("Tõ Tè Huy" for TCVN3 "Từ Tố Huy"): a cell whose reading in a font the column shows
    # is a likelier name is read in that font. A column that shows no legacy font converts nothing: its
    # Unicode names stay Unicode however their legacy readings go ("Kim Sô Phal", VNI "Kim Sơ Phal"), and
    # so would a lone two-way legacy cell in it.
    fonts = evidence.intersection(LEGACY)
    people = (bool(fonts) and unicode_column and any(v.standard and v.alternatives for v in verdicts)
              and _people_column(verdicts, distinct))
    labels = [v.label if not v.alternatives
              else (_legacy_reading_likelier(text, tuple(a for a in v.alternatives if a in fonts), people)
                    or "unicode")
              if v.standard and unicode_column
              else _resolve(v.alternatives, evidence, text)
              for v, text in zip(verdicts, distinct)]
    converted = [to_unicode(v, lab, proper_names=proper_names) if lab in ("tcvn3", "vni", "unicode") else v
                 for v, lab in zip(distinct, labels)]
    text_out = cells.copy()
    label_out = np.full(len(cells), None, dtype=object)
    if len(distinct):
        text_out[is_text] = np.asarray(converted, dtype=object)[codes]
        label_out[is_text] = np.asarray(labels, dtype=object)[codes]
    text = pd.Series(text_out, index=values.index, name=values.name, dtype=object)
    if isinstance(values.dtype, pd.StringDtype):
        text = text.astype(values.dtype)
    return text, pd.Series(label_out, index=values.index, name=values.name, dtype=object)
