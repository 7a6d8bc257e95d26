"""The TCVN3 and VNI-Windows character tables, the characters that betray a legacy font, and conversion through them."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

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
