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
    glibc iconv's TCVN5712-1, whose 0xA0-0xFF range is VN3 (tests/test_legacy_fonts.py compares
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
from typing import NamedTuple

import numpy as np
import pandas as pd

from mappings.text import map_distinct

LABELS = ("ascii", "unicode", "tcvn3", "vni", "uncertain")
LEGACY = ("tcvn3", "vni")

# ------------------------------------------------------------------ tables
# Tones in the order the published tables list them: none, sắc, huyền, hỏi, ngã, nặng.
_TONE_MARKS = ("", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323")
_VOWELS = "aăâeêioôơuưy"


def _toned(base: str) -> list[str]:
    return [unicodedata.normalize("NFC", base + t) for t in _TONE_MARKS]


# TCVN3 (VN3): the code of each lower-case letter, tones in the order above (0xA0-0xFF as Windows-1252).
_TCVN3_ROWS = {
    "a": "a\xb8\xb5\xb6\xb7\xb9",
    "ă": "\xa8\xbe\xbb\xbc\xbd\xc6",
    "â": "\xa9\xca\xc7\xc8\xc9\xcb",
    "e": "e\xd0\xcc\xce\xcf\xd1",
    "ê": "\xaa\xd5\xd2\xd3\xd4\xd6",
    "i": "i\xdd\xd7\xd8\xdc\xde",
    "o": "o\xe3\xdf\xe1\xe2\xe4",
    "ô": "\xab\xe8\xe5\xe6\xe7\xe9",
    "ơ": "\xac\xed\xea\xeb\xec\xee",
    "u": "u\xf3\xef\xf1\xf2\xf4",
    "ư": "\xad\xf8\xf5\xf6\xf7\xf9",
    "y": "y\xfd\xfa\xfb\xfc\xfe",
}
_TCVN3_OTHERS = {"\xae": "đ", "\xa1": "Ă", "\xa2": "Â", "\xa3": "Ê", "\xa4": "Ô", "\xa5": "Ơ", "\xa6": "Ư", "\xa7": "Đ"}
TCVN3: dict[str, str] = {}                       # legacy character -> Unicode letter
for _base, _codes in _TCVN3_ROWS.items():
    for _code, _letter in zip(_codes, _toned(_base)):
        if not _code.isascii():
            TCVN3[_code] = _letter
TCVN3.update(_TCVN3_OTHERS)
_TCVN3_CAPITALS = frozenset("\xa1\xa2\xa3\xa4\xa5\xa6\xa7")
# Toned vowels: VN3 has no capital for them, so a word may open with one of these codes in a capitalised word.
_TCVN3_TONED = frozenset(code for code, letter in TCVN3.items()
                         if any(m in unicodedata.normalize("NFD", letter) for m in _TONE_MARKS[1:]))
_TCVN3_TRANSLATE = str.maketrans(TCVN3)

# VNI-Windows: the characters for each lower-case letter; capitals are the .upper() of each character.
_VNI_TONES = ("", "ù", "ø", "û", "õ", "ï")
_VNI_CIRCUMFLEX = ("â", "á", "à", "å", "ã", "ä")
_VNI_BREVE = ("ê", "é", "è", "ú", "ü", "ë")
_VNI_ROWS = {
    "a": ["a" + m for m in _VNI_TONES],
    "â": ["a" + m for m in _VNI_CIRCUMFLEX],
    "ă": ["a" + m for m in _VNI_BREVE],
    "e": ["e" + m for m in _VNI_TONES],
    "ê": ["e" + m for m in _VNI_CIRCUMFLEX],
    "o": ["o" + m for m in _VNI_TONES],
    "ô": ["o" + m for m in _VNI_CIRCUMFLEX],
    "ơ": ["ô" + m for m in _VNI_TONES],
    "u": ["u" + m for m in _VNI_TONES],
    "ư": ["ö" + m for m in _VNI_TONES],
    "i": ["i", "í", "ì", "æ", "ó", "ò"],
    "y": ["y", "yù", "yø", "yû", "yõ", "î"],
}
VNI: dict[str, str] = {}                         # legacy character(s) -> Unicode letter
for _base, _seqs in _VNI_ROWS.items():
    for _seq, _letter in zip(_seqs, _toned(_base)):
        if not _seq.isascii():
            VNI[_seq] = _letter
            VNI[_seq.upper()] = _letter.upper()
VNI["ñ"], VNI["Ñ"] = "đ", "Đ"
_VNI_RE = re.compile("|".join(sorted(map(re.escape, VNI), key=len, reverse=True)))

_REVERSE = {
    "tcvn3": {letter: code for code, letter in TCVN3.items()},
    "vni": {letter: seq for seq, letter in VNI.items()},
}

# ------------------------------------------------------------------ characters and words
# A word: letters, combining marks and every character of 0xA1-0xFF (TCVN3 uses ¨ © ª « ¬ ­ ® µ ¶ · ¸ ×
# ÷ ... as letters). Whitespace (NBSP too), digits, ASCII and Windows-1252 punctuation separate words.
_WORD = re.compile(r"[A-Za-z\u00a1-\u00ff\u0100-\u024f\u0300-\u036f\u1e00-\u1eff]+")
# Anything Windows-1252 cannot hold: such a cell cannot be a legacy font read through cp1252.
_BEYOND_CP1252 = re.compile(
    "[^\x00-\xff\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018\u2019"
    "\u201a\u201c\u201d\u201e\u2020\u2021\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]")
# Evidence that a cell was typed in a legacy font, beyond its conversion reading well:
# strong -- TCVN3 letter codes that are symbols in any text (¨ © ® µ ¸ ...), and VNI's base vowel +
#   mark pairs, which Unicode never writes (aù eâ oâ aê ...; not oá oà oã, new-style Unicode "hoà");
# weak -- Latin-1 letters Vietnamese does not use (ï ñ ö ü Ç Ð ...): TCVN3 and VNI codes, but also
#   Western names ("Müller"), so they back a plausible conversion but alone prove nothing.
_SYMBOLS = re.compile("[\xa1-\xa9\xab-\xae\xb5-\xb9\xbb-\xbe\xd7\xf7]")
_VNI_PAIRS = re.compile("|".join(re.escape(k) for k in VNI if len(k) == 2 and k.lower() not in ("oá", "oà", "oã")))
_VIETNAMESE_LATIN1 = frozenset("àáâãèéêìíòóôõùúýÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝ")

# ------------------------------------------------------------------ Vietnamese syllables
_STD_ONSETS = ["ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "qu", "th", "tr",
               "b", "c", "d", "đ", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x"]
# Clusters of ethnic-minority names and places written in Vietnamese letters (Krông, Hđơk, Mlô, Kdăm):
# one more consonant before a standard onset. Consonants are (but for đ) ASCII in every reading, so
# they hardly tip the choice between encodings; they keep such names from looking like garbage.
_ONSETS = frozenset(["", "f", "j", "w", "z", *_STD_ONSETS,
                     *(p + o for p in "bdđhklmnprst" for o in _STD_ONSETS if o[0] != p and not o.startswith(("gh", "ngh")))])
_NEEDS_CODA = {"ă", "â", "iê", "yê", "uô", "ươ", "oă", "uâ", "uyê", "oo"}
_OPEN = {"ai", "ao", "au", "ay", "âu", "ây", "eo", "êu", "ia", "iu", "oi", "ôi", "ơi", "ui", "ưi", "ưu",
         "ua", "ưa", "ya", "uơ", "iêu", "yêu", "oai", "oao", "oay", "oeo", "uây", "uôi", "uya", "uyu",
         "ươi", "ươu"}
_EITHER = {"a", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y", "oa", "oe", "uê", "uy"}
_CODAS = ("ch", "ng", "nh", "c", "m", "n", "p", "t", "k", "h", "l")   # k h l: Đắk Lắk, Bih, Ea Păl (minority names)
_MINORITY_OPEN = {"iê"}                                           # Niê (Ê Đê), written without a coda


def _rhyme_allowed(nucleus: str, coda: str) -> bool:
    if not coda:
        return nucleus not in _NEEDS_CODA or nucleus in _MINORITY_OPEN
    if nucleus in _OPEN:
        return False
    if coda in ("ch", "nh"):
        return nucleus in ("a", "ê", "i", "y", "oa", "uê", "uy")
    if coda in ("c", "ng"):
        return nucleus not in ("i", "y", "uy")
    return True


def _tone_places(nucleus: str, coda: str) -> tuple[int, ...]:
    """Which vowel of the nucleus carries the tone: the main one, or for open oa/oe/uy either (hóa, hoá)."""
    if len(nucleus) == 1:
        return (0,)
    if nucleus in ("oa", "oe", "uy", "oo"):
        return (1,) if coda else (0, 1)
    if nucleus == "uyê":
        return (2,)
    if len(nucleus) == 3 or nucleus in ("iê", "yê", "uô", "ươ", "uâ", "oă", "uê", "uơ"):
        return (1,)
    return (0,)                                                   # ai ao au ... ia ua ưa: the first


_RHYMES: dict[str, tuple[str, str]] = {}                          # rhyme -> (nucleus, coda)
_LOOSE_RHYMES: dict[str, tuple[str, str]] = {}                    # any nucleus with any coda (Mônh, Sươl)
for _nucleus in _NEEDS_CODA | _OPEN | _EITHER:
    for _coda in ("", *_CODAS, "r", "s"):
        _LOOSE_RHYMES[_nucleus + _coda] = (_nucleus, _coda)
        if _coda:
            # Khmer names write a silent e after the final consonant (Sa Rươne, Sô Phone): the tone
            # still sits as it would without it.
            _LOOSE_RHYMES[_nucleus + _coda + "e"] = (_nucleus, _coda)
        if _coda in ("r", "s"):
            continue
        if _rhyme_allowed(_nucleus, _coda):
            _RHYMES[_nucleus + _coda] = (_nucleus, _coda)
_NOT_VOWEL = re.compile(f"[^{_VOWELS}]*")
_TONE_OF = {m: i for i, m in enumerate(_TONE_MARKS) if m}


@lru_cache(maxsize=1 << 17)
def _syllable_ok(word: str, strict: bool = True) -> bool:
    """One Vietnamese syllable, letter case ignored: onset + nucleus + coda, at most one tone, on the
    vowel orthography puts it on, and only sắc or nặng before a stop (c, ch, p, t).

    Not strict (for text read as written): any nucleus with any coda, and no stop rule, so that names
    outside the standard rhymes (Khmer "Mônh", "Sươl") still read as Vietnamese; tone count and
    placement still apply.
    """
    decomposed = unicodedata.normalize("NFD", word.lower())
    tone, tone_at, letters, kept = 0, -1, -1, []
    for ch in decomposed:
        if ch in _TONE_OF:
            if tone:
                return False                                       # two tones
            tone, tone_at = _TONE_OF[ch], letters
        else:
            if not unicodedata.combining(ch):
                letters += 1
            kept.append(ch)
    base = unicodedata.normalize("NFC", "".join(kept))
    onset = _NOT_VOWEL.match(base).group()  # type: ignore[union-attr]  # the pattern matches the empty onset too
    splits = [onset]
    if onset in ("g", "q") and base[len(onset):len(onset) + 1] in ("i", "u"):
        splits.append(base[:len(onset) + 1])                       # gi-, qu- take their vowel letter along
    rhymes = _RHYMES if strict else _LOOSE_RHYMES
    for onset in splits:
        parts = rhymes.get(base[len(onset):])
        if onset not in _ONSETS or parts is None:
            continue
        nucleus, coda = parts
        if tone and tone_at - len(onset) not in _tone_places(nucleus, coda):
            continue
        if not strict:
            return True
        if coda in ("c", "ch", "p", "t") and tone not in (1, 5):
            continue                                               # a stop takes sắc or nặng only
        if coda in ("k", "h", "l") and tone not in (0, 1, 5):
            continue
        if onset.endswith("gh") and nucleus[0] not in "eêi":
            continue                                               # gh, ngh only before e ê i (ghi, nghệ)
        if onset.endswith("g") and nucleus[0] in "eê":
            continue                                               # g, ng never before e ê (ghe, nghe)
        return True
    return False


_UPPER_CONSONANTS = frozenset("BCDĐFGHJKLMNPQRSTVWXZ")


def _case_ok(word: str) -> bool:
    """lower, UPPER, Title, or a capitalised consonant cluster (KRông, HBông, JLơi: official unit names)."""
    if word.islower() or word.isupper() or word.istitle():
        return True
    i = 0
    while i < len(word) and word[i] in _UPPER_CONSONANTS:
        i += 1
    return i >= 2 and word[i:].islower()


def _word_ok(word: str) -> bool:
    """A converted word: a Vietnamese syllable, strictly."""
    return _case_ok(word) and _syllable_ok(word)


def _reads_as_written(word: str) -> bool:
    """A word as written: Vietnamese letters in a syllable shape, leniently (see `_syllable_ok`)."""
    return _case_ok(word) and _syllable_ok(word, strict=False)


@lru_cache(maxsize=1 << 16)
def _word_reading(word: str, encoding: str) -> str | None:
    """A word through one table (TCVN3 lower-case as coded), or None if a character is not in it."""
    if encoding == "tcvn3":
        if any(ord(ch) > 127 and ch not in TCVN3 for ch in word):
            return None
        return word.translate(_TCVN3_TRANSLATE)
    if not _VNI_RE.sub("", word).isascii():
        return None
    return _VNI_RE.sub(lambda m: VNI[m.group()], word)


# ------------------------------------------------------------------ conversion
def _tcvn3_case(text: str, converted: str, proper_names: bool = False) -> str:
    """Case for TCVN3, whose toned capitals were typed with the capitals font in lower-case codes.

    - A cell written in capitals ("NGUYÔN V¡N AN") is all capitals: every word whose ASCII letters and
      capital codes (at least two) are all upper-case is upper-cased, and so is the whole cell when
      no word of two or more letters has a lower-case ASCII letter.
    - A word opening with a toned vowel (VN3 has no capital for it) is capitalised when it opens the
      cell ("ñy ban nh©n d©n x·" -> "Ủy ban nhân dân xã", "¸nh" -> "Ánh"), when the cell is a name (two
      or more other words, all capitalised: "TrÇn ThÞ ¸nh TuyÕt" -> "Trần Thị Ánh Tuyết"), or when it
      stands in a run of capitalised words: before one ("ThÞ trÊn ¸i NghÜa" -> "Thị trấn Ái Nghĩa") or
      after one that does not open the cell ("ThÞ trÊn Ch©u æ" -> "Thị trấn Châu Ổ").
    Letters VN3 has capitals for (ă â ê ô ơ ư đ) keep the case they were typed in ("®i" -> "đi").
    What the font drew cannot be recovered beyond this: "Lª ¸nh" stays "Lê ánh" (unless it is a name,
    below), and a cell in capitals whose words each have one ASCII letter ("X· Cò") reads as Title
    case ("Xã Cũ").

    proper_names: the column holds names (people, hamlets, communes), where every syllable is written
    with a capital. A cell whose other words are all capitalised then capitalises every word that opens
    with a toned vowel, wherever it stands: "T¨ng ¸nh ý" -> "Tăng Ánh Ý", where the rules above see
    two lower-opening words side by side and leave "Tăng ánh ý". A cell with a lower-case word
    ("ThÞ trÊn ¸i NghÜa") is not a name written that way and keeps the rules above.
    """
    spans = [m.span() for m in _WORD.finditer(text)]
    if not spans:
        return converted
    words = [converted[a:b] for a, b in spans]
    counts = []
    for a, b in spans:
        original = text[a:b]
        up = sum(1 for ch in original if "A" <= ch <= "Z" or ch in _TCVN3_CAPITALS)
        low = sum(1 for ch in original if "a" <= ch <= "z")
        counts.append((up, low))
    caps = [up >= 2 and low == 0 for up, low in counts]
    whole_cell = any(caps) and all(low == 0 for up, low in counts if up + low >= 2)
    for i, word in enumerate(words):
        if whole_cell or caps[i]:
            words[i] = word.upper()
    opens_lower = [text[a] in _TCVN3_TONED and words[i][:1].islower() for i, (a, _) in enumerate(spans)]
    capital = [w[:1].isupper() and not opens_lower[j] for j, w in enumerate(words)]
    name = proper_names and all(capital[j] for j in range(len(words)) if not opens_lower[j])
    for i in range(len(words)):
        if not opens_lower[i]:
            continue
        others = [capital[j] for j in range(len(words)) if j != i and not opens_lower[j]]
        if (name                                                   # a proper name: Tăng Ánh Ý
                or i == 0                                          # opens the cell
                or (len(others) >= 2 and all(others))              # a name: Trần Thị Ánh Tuyết
                or (i + 1 < len(words) and capital[i + 1])         # before a capital: Thị trấn Ái Nghĩa
                or (i >= 2 and capital[i - 1])):                   # after a name word: Châu Ổ, Mường Ảng
            words[i] = words[i][:1].upper() + words[i][1:]
    out, last = [], 0
    for (a, b), word in zip(spans, words):
        out.append(converted[last:a])
        out.append(word)
        last = b
    out.append(converted[last:])
    return "".join(out)


@lru_cache(maxsize=1 << 16)       # detection reads each cell through each table several times
def to_unicode(text: str, encoding: str, *, proper_names: bool = False) -> str:
    """`text` read as `encoding` ('tcvn3' or 'vni'), in NFC; any other label gives `text` in NFC.

    proper_names: `text` is a name, every syllable capitalised (TCVN3 capitals, see `_tcvn3_case`).
    """
    if encoding == "tcvn3":
        text = _tcvn3_case(text, text.translate(_TCVN3_TRANSLATE), proper_names)
    elif encoding == "vni":
        text = _VNI_RE.sub(lambda m: VNI[m.group()], text)
    return unicodedata.normalize("NFC", text)


def from_unicode(text: str, encoding: str) -> str:
    """Unicode -> the characters a legacy font shows: what an old file holds (tests and corpora).

    TCVN3 writes a toned capital with its lower-case code, as the capitals font (.VnTimeH) did.
    'unicode' (or 'ascii') gives the text in NFC.
    """
    text = unicodedata.normalize("NFC", text)
    if encoding in ("unicode", "ascii"):
        return text
    if encoding not in _REVERSE:
        raise ValueError(f"unknown encoding {encoding!r}: expected 'tcvn3', 'vni' or 'unicode'")
    table = _REVERSE[encoding]
    out = []
    for ch in text:
        if ch in table:
            out.append(table[ch])
        elif encoding == "tcvn3" and ch.lower() in table:
            out.append(table[ch.lower()])
        else:
            out.append(ch)
    return "".join(out)


encode = from_unicode

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
class _Verdict(NamedTuple):
    label: str
    alternatives: tuple[str, ...] = ()    # when more than one reading is plausible
    vietnamese: bool = False              # reads as Vietnamese in `label`: evidence for its column
    definite: bool = False                # definite Unicode: a Vietnamese word with a letter beyond Windows-1252
    standard: bool = False                # reads two ways, standard syllables as written: Unicode in a Unicode column


def _reading_ok(text: str, encoding: str, words: list[str], idx: list[int], strict: bool = True) -> bool:
    """Every non-ASCII word reads as a Vietnamese syllable through `encoding`: strictly, or (not
    strict) with the leniency text as written gets (Khmer "Sa Rươne" through VNI)."""
    if any(_word_reading(words[i], encoding) is None for i in idx):
        return False
    converted = _WORD.findall(to_unicode(text, encoding))
    ok = _word_ok if strict else _reads_as_written
    return len(converted) == len(words) and all(ok(converted[i]) for i in idx)


def _strong_evidence(word: str) -> bool:
    """Only a legacy font writes this: a TCVN3 symbol code, a VNI vowel + mark pair, or broken case (NguyÔn)."""
    return bool(_SYMBOLS.search(word) or _VNI_PAIRS.search(word)) or not _case_ok(word)


def _weak_evidence(word: str) -> bool:
    return any(ord(ch) > 127 and ch not in _VIETNAMESE_LATIN1 for ch in word)


def _only_legacy_reads(word: str) -> bool:
    """A word with legacy evidence that is not Vietnamese as written but is through a legacy table
    (leniently, as text as written is read: VNI "Röône" is the Khmer "Rươne")."""
    if _reads_as_written(word) or not (_strong_evidence(word) or _weak_evidence(word)):
        return False
    for encoding in LEGACY:
        reading = _word_reading(word, encoding)
        if reading is not None and reading != word and _syllable_ok(reading, strict=False):
            return True
    return False


def _assess(text: str) -> _Verdict:
    if text.isascii():
        return _Verdict("ascii")
    nfc = unicodedata.normalize("NFC", text)
    words = _WORD.findall(nfc)
    idx = [i for i, w in enumerate(words) if not w.isascii()]
    if _BEYOND_CP1252.search(text):
        # Vietnamese letters a legacy font has no code for: Unicode, unless a word typed in a legacy
        # font sits inside it ("Nguyễn V¨n An").
        if any(not _BEYOND_CP1252.search(words[i]) and _only_legacy_reads(words[i]) for i in idx):
            return _Verdict("uncertain")
        # Definite Unicode, proof that its column holds Unicode: a word that reads as Vietnamese and
        # has a letter no legacy font gives through Windows-1252 ("Tư", "Văn"; NFD "Má" too).
        definite = any(_BEYOND_CP1252.search(w) and _reads_as_written(unicodedata.normalize("NFC", w))
                       for w in _WORD.findall(text))
        return _Verdict("unicode", vietnamese=any(_reads_as_written(words[i]) for i in idx), definite=definite)
    if len(text.strip()) <= 1:
        return _Verdict("unicode")        # a lone character ("×", "é") is a mark, not evidence of a font
    plausible = tuple(enc for enc in LEGACY if to_unicode(text, enc) != nfc and _reading_ok(text, enc, words, idx))
    if all(_reads_as_written(words[i]) for i in idx):
        if not plausible:
            # Evidence for Unicode, unless a legacy table reads it as the very same text: VNI writes í ì
            # as themselves, TCVN3 ý, so VNI "Trình Lan Ri" is no proof its column holds Unicode.
            same = any(to_unicode(text, enc) == nfc and all(_word_reading(words[i], enc) is not None for i in idx)
                       for enc in LEGACY)
            return _Verdict("unicode", vietnamese=not same)
        # It reads two ways, so it is no evidence for its column; `decode_series` decides it. Standard
        # syllables as written ("Má", "Lý Sô Phol") stay Unicode in a column with definite Unicode in it
        # (or are held back there, when a legacy reading is likelier: "Tõ Tè Huy"), and follow a legacy
        # column (TCVN3 "Tõ Hoa Hai" for "Từ Hoa Hai"); a cell that reads as written only leniently
        # ("Vâ Minh Long") follows its column's evidence either way.
        standard = all(_word_ok(words[i]) and not _strong_evidence(words[i]) for i in idx)
        return _Verdict("unicode", ("unicode", *plausible), standard=standard)
    strong = any(_strong_evidence(words[i]) for i in idx)
    if not strong and not any(_weak_evidence(words[i]) for i in idx):
        # Only Vietnamese letters, in a shape outside the standard syllables (Xã Ea Krêy): Unicode as
        # written; a legacy reading that happens to work is only an alternative.
        return _Verdict("unicode", ("unicode", *plausible)) if plausible else _Verdict("unicode")
    if len(plausible) == 1:
        return _Verdict(plausible[0], vietnamese=True)
    if len(plausible) == 2:
        return _Verdict("uncertain", plausible)
    # No table gives standard syllables, but the cell has a legacy font's characters: names outside the
    # standard rhymes typed in a legacy font (VNI "Kim Thò Sa Röône", Khmer "Kim Thị Sa Rươne") read
    # through their table with the leniency Unicode names get as written. Backed by a symbol, a pair or
    # broken case, or by two characters or more: one ü or ö is as likely a Western name ("Düne").
    loose: tuple[str, ...] = ()
    if strong or sum(not ch.isascii() for i in idx for ch in words[i]) >= 2:
        loose = tuple(enc for enc in LEGACY
                      if to_unicode(text, enc) != nfc and _reading_ok(text, enc, words, idx, strict=False))
    if len(loose) == 1:
        return _Verdict(loose[0])
    if len(loose) == 2:
        return _Verdict("uncertain", loose)
    if strong or any(_only_legacy_reads(words[i]) for i in idx):
        return _Verdict("uncertain")      # legacy by its characters, but it reads as nothing
    return _Verdict("unicode")            # Latin-1 letters, Vietnamese in no reading: foreign text ("José Müller")


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


def _resolve(alternatives: tuple[str, ...], evidence: set[str], text: str) -> str:
    """A cell plausible in several readings follows its column when the column names exactly one.

    A column holding several (old records typed in TCVN3 beside newer ones in Unicode) cannot decide:
    then the reading made of more syllables common in names and places wins ("Võ Minh Long" over its
    TCVN3 reading "Vừ Minh Long"); a tie stays uncertain.
    """
    hits = evidence.intersection(alternatives)
    if len(hits) == 1:
        return hits.pop()
    if not hits and "unicode" in alternatives:
        return "unicode"
    scores = {alt: _common_words(unicodedata.normalize("NFC", text) if alt == "unicode" else to_unicode(text, alt))
              for alt in (hits or alternatives)}
    best = max(scores.values())
    winners = [alt for alt, score in scores.items() if score == best]
    return winners[0] if best > 0 and len(winners) == 1 else "uncertain"


@lru_cache(maxsize=1)
def _syllable_lists() -> dict[str, frozenset]:
    from importlib import resources

    import yaml

    data = yaml.safe_load(resources.files("mappings").joinpath("common_syllables.yaml").read_text(encoding="utf-8"))
    return {part: frozenset(unicodedata.normalize("NFC", str(w)).lower() for w in words)
            for part, words in data.items()}


@lru_cache(maxsize=1)
def _common_syllables() -> frozenset:
    return frozenset().union(*_syllable_lists().values())


def _family_names() -> frozenset:
    return _syllable_lists().get("family", frozenset())


def _common_words(text: str) -> int:
    common = _common_syllables()
    return sum(w.lower() in common for w in _WORD.findall(text))


def _first_word(text: str) -> str:
    words = _WORD.findall(unicodedata.normalize("NFC", text))
    return words[0].lower() if words else ""


def _people_column(verdicts: list[_Verdict], distinct) -> bool:
    """The column holds names of people: most of its unambiguous cells open with a family name
    (mappings/common_syllables.yaml, read through the cell's table). Hamlets and communes do not."""
    family = _family_names()
    read = [_first_word(to_unicode(text, v.label)) for v, text in zip(verdicts, distinct)
            if not v.alternatives and v.label in ("ascii", "unicode", *LEGACY)]
    read = [w for w in read if w]
    return bool(read) and 2 * sum(w in family for w in read) >= len(read)


def _legacy_reading_likelier(text: str, alternatives: tuple[str, ...], people: bool) -> str | None:
    """How a cell of standard syllables in a Unicode column that also shows a legacy font is read, when not as
    written (`decode_series`); None keeps it as written ("Má", "Lý Sô Phol": their readings are no likelier):
      - in a column of people's names, a legacy reading of more common syllables that opens with a family
        name where the text as written opens with none is that encoding: TCVN3 "Vò Thu Linh" is "Vũ Thu
        Linh", "Tõ Tè Huy" "Từ Tố Huy", "Khóc Kim Nga" "Khúc Kim Nga" (a name, read where a family name
        stands, decides it, not the neighbours);
      - otherwise a reading of more common syllables, or in a column of people's names one of as many that
        opens with a family name the text as written does not ("Hoà Gia Oanh", VNI for "Hồ Gia Oanh"), is
        'uncertain': held back with its reason, never converted (a Khmer "Sô Phia" beside VNI cells is not
        turned into "Sơ Phia").
    """
    written = unicodedata.normalize("NFC", text)
    score = _common_words(written)
    family = _family_names()
    verdict = None
    for alt in alternatives:
        if alt not in LEGACY:
            continue
        reading = to_unicode(text, alt)
        other = _common_words(reading)
        names_family = _first_word(reading) != _first_word(written) and _first_word(reading) in family
        if other > score and people and names_family and _first_word(written) not in family:
            return alt
        if other > score or (people and other == score and names_family):
            verdict = "uncertain"
    return verdict


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
