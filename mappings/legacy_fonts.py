"""Detects text typed in the legacy Vietnamese fonts (TCVN3/ABC, VNI-Windows) cell by cell and converts it to NFC.

In a workbook the text is already Unicode, but a legacy cell holds the Windows-1252 characters the
font drew as Vietnamese: "NguyÔn V¨n An" (TCVN3) or "Nguyeãn Vaên An" (VNI) for "Nguyễn Văn An".
A cell is converted only when the result reads as Vietnamese syllables and the cell as written does
not; real Unicode is left alone; a cell that looks legacy but reads as nothing is "uncertain" and
the caller rejects it rather than guess.

Tables, from the published character maps:
- TCVN3 (TCVN 5712:1993, ABC fonts .VnTime/.VnArial): lower-case toned letters at 0xA1-0xFF and
  ư at 0xAD, with the seven capitals Ă Â Đ Ê Ô Ơ Ư at 0xA1-0xA7; toned capitals were typed with the
  capitals font (.VnTimeH) using the lower-case codes. As in open-source converters such as the
  TCVN3ToUnicode table of backupvietsoft/HRM (ConvertVNI) and the X11 lcUniConv tcvn.h.
- VNI-Windows: a base letter followed by a diacritic character (aù = á, aâ = â, aê = ă, oâ = ô),
  and single characters for ơ (ô), ư (ö), đ (ñ) and the toned i/y forms. As in the VNI table of
  the xvnkb keyboard driver (lamdao/xvnkb, vni.h).
"""
from __future__ import annotations

import re
import unicodedata

import pandas as pd

# ------------------------------------------------------------------ tables
# Vowel groups in the order base, sắc, huyền, hỏi, ngã, nặng.
_GROUPS = {
    "a": "aáàảãạ", "â": "âấầẩẫậ", "ă": "ăắằẳẵặ", "e": "eéèẻẽẹ", "ê": "êếềểễệ", "o": "oóòỏõọ",
    "ô": "ôốồổỗộ", "ơ": "ơớờởỡợ", "u": "uúùủũụ", "ư": "ưứừửữự", "i": "iíìỉĩị", "y": "yýỳỷỹỵ",
}
_TCVN3_LOWER = {
    "a": "a¸µ¶·¹", "ă": "¨¾»¼½Æ", "â": "©ÊÇÈÉË", "e": "eÐÌÎÏÑ", "ê": "ªÕÒÓÔÖ", "i": "iÝ×ØÜÞ",
    "o": "oãßáâä", "ô": "«èåæçé", "ơ": "¬íêëìî", "u": "uóïñòô", "ư": "\xadøõö÷ù", "y": "yýúûüþ",
}
TCVN3: dict[str, str] = {"®": "đ", "¡": "Ă", "¢": "Â", "§": "Đ", "£": "Ê", "¤": "Ô", "¥": "Ơ", "¦": "Ư"}
for _base, _codes in _TCVN3_LOWER.items():
    for _code, _uni in zip(_codes, _GROUPS[_base]):
        if _code != _uni[0] or _code not in "aeiouy":
            TCVN3[_code] = _uni

# VNI: the diacritic characters after a base vowel, lower and upper case.
_VNI_TONES = "ùøûõï"                 # sắc, huyền, hỏi, ngã, nặng (lower case; upper: ÙØÛÕÏ)
VNI: dict[str, str] = {}


def _vni_table() -> None:
    tones_upper = "ÙØÛÕÏ"
    # circumflex with tones: â á à å ã ä ; breve with tones: ê é è ú ü ë
    circ = "âáàåãä"
    breve = "êéèúüë"
    for lower in (True, False):
        up = (lambda s: s) if lower else (lambda s: s.upper())
        tones = _VNI_TONES if lower else tones_upper
        for base in "aeouy":
            uni = _GROUPS[base]
            for t, u in zip(tones, uni[1:]):
                VNI[up(base) + t] = up(u)
        for base, target in (("a", "â"), ("e", "ê"), ("o", "ô")):
            marks = circ if lower else circ.upper()
            for m, u in zip(marks, _GROUPS[target]):
                VNI[up(base) + m] = up(u)
        marks = breve if lower else breve.upper()
        for m, u in zip(marks, _GROUPS["ă"]):
            VNI[up("a") + m] = up(u)
        # ơ and ư are single characters (ô, ö), with tones after them.
        for single, target in (("ô", "ơ"), ("ö", "ư")):
            s = single if lower else single.upper()
            VNI[s] = up(target)
            for t, u in zip(tones, _GROUPS[target][1:]):
                VNI[s + t] = up(u)
        # i: í ì æ ó ò ; ỵ: î ; đ: ñ
        for code, u in zip("íìæóò" if lower else "ÍÌÆÓÒ", _GROUPS["i"][1:]):
            VNI[code] = up(u)
        VNI["î" if lower else "Î"] = up("ỵ")
        VNI["ñ" if lower else "Ñ"] = up("đ")


_vni_table()
_VNI_PATTERN = re.compile("|".join(sorted(map(re.escape, VNI), key=len, reverse=True)))

# Symbols no name or word contains, which TCVN3 uses for letters. (Letters such as ü or ø are left
# out: a foreign name in Unicode may carry them.)
_LEGACY_ONLY = set("¡¢£¤¥¦§¨©ª«¬\xad®¯°±²³´µ¶·¸¹º»¼½¾¿×÷")

# ------------------------------------------------------------------ plausibility
_TONES = "\u0300\u0301\u0303\u0309\u0323"
_ONSET = "(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|b|c|d|đ|g|h|k|l|m|n|p|r|s|t|v|x)?"
_NUCLEUS = ("(?:uyê|uya|uyu|uôi|ươi|ươu|oai|oay|oao|oeo|uây|iêu|yêu|"
            "ai|ao|au|ay|âu|ây|eo|êu|ia|iê|iu|oa|oă|oe|oi|ôi|ơi|ua|uâ|uê|ui|uô|uơ|ưa|ưi|ưu|ươ|uy|ya|yê|"
            "a|ă|â|e|ê|i|o|ô|ơ|u|ư|y)")
_CODA = "(?:ch|ng|nh|c|m|n|p|t)?"
_SYLLABLE = re.compile(f"^{_ONSET}{_NUCLEUS}{_CODA}$")
_WORD = re.compile(r"[^\s,.;:/()\-–\"'0-9]+")


def _syllable_ok(word: str) -> bool:
    decomposed = unicodedata.normalize("NFD", word.lower())
    if sum(ch in _TONES for ch in decomposed) > 1:
        return False
    bare = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if ch not in _TONES))
    return bool(_SYLLABLE.match(bare))


def _reads_as_vietnamese(text: str, words_of: str) -> bool:
    """Every word of `text` that stood where a non-ASCII word of `words_of` stood is a syllable."""
    checked = [w for w in _WORD.findall(text)]
    originals = _WORD.findall(words_of)
    if len(checked) != len(originals):
        return all(_syllable_ok(w) for w in checked if not w.isascii())
    return all(_syllable_ok(w) for w, o in zip(checked, originals) if not o.isascii())


# ------------------------------------------------------------------ conversion
def to_unicode(text: str, encoding: str) -> str:
    if encoding == "tcvn3":
        out = "".join(TCVN3.get(ch, ch) for ch in text)
        # Capitals were typed with the capitals font using lower-case codes: NGUYÔN -> NGUYỄN.
        out = re.sub(r"\S+", lambda m: m.group(0).upper() if _mostly_upper(m.group(0)) else m.group(0), out)
        # A toned capital opening a word (Ánh, Ấp) was typed the same way: in a name where every
        # other word is capitalised, that word was too.
        words = out.split(" ")
        lettered = [w for w in words if w[:1].isalpha()]
        if len(lettered) > 1:
            for i, (w, orig) in enumerate(zip(words, text.split(" "))):
                others = [x for x in lettered if x is not w]
                if w[:1].islower() and orig[:1] in TCVN3 and all(x[:1].isupper() for x in others):
                    words[i] = w[:1].upper() + w[1:]
            out = " ".join(words)
    elif encoding == "vni":
        out = _VNI_PATTERN.sub(lambda m: VNI[m.group(0)], text)
    else:
        out = text
    return unicodedata.normalize("NFC", out)


def _mostly_upper(word: str) -> bool:
    ascii_letters = [c for c in word if c.isascii() and c.isalpha()]
    return len(ascii_letters) >= 2 and all(c.isupper() for c in ascii_letters)


def _has_unicode_only(text: str) -> bool:
    return any(0x100 <= ord(ch) <= 0x1FF or 0x1EA0 <= ord(ch) <= 0x1EF9 or 0x300 <= ord(ch) <= 0x323
               for ch in text)


def detect(text: str) -> str:
    """'ascii', 'unicode', 'tcvn3', 'vni' or 'uncertain' for one cell."""
    if text.isascii():
        return "ascii"
    nfc = unicodedata.normalize("NFC", text)
    # Letters only Unicode has (ă đ ơ ư ĩ ũ and the toned forms U+1EA0-1EF9) settle it.
    if _has_unicode_only(text):
        return "unicode"
    as_is = _reads_as_vietnamese(nfc, text)
    if as_is:
        return "unicode"
    candidates = legacy_candidates(text)
    if len(candidates) == 1:
        return candidates[0]
    if len(candidates) == 2 and to_unicode(text, "tcvn3") == to_unicode(text, "vni"):
        return "tcvn3"
    if candidates or any(ch in _LEGACY_ONLY for ch in text):
        return "uncertain"
    return "unicode"   # a foreign word in Unicode (José, Müller): not Vietnamese, not legacy either


def legacy_candidates(text: str) -> list[str]:
    """The legacy encodings under which the cell reads as Vietnamese and differs from itself."""
    nfc = unicodedata.normalize("NFC", text)
    return [enc for enc in ("tcvn3", "vni")
            if to_unicode(text, enc) != nfc and _reads_as_vietnamese(to_unicode(text, enc), text)]


def decode_series(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(text converted where legacy, label per cell); computed once per distinct value.

    Labels: ascii, unicode, tcvn3, vni, uncertain; None for cells that are not text. A short value
    that reads both ways ("Sè" is a word, and TCVN3 for "Số") follows its column: a column whose
    cells are confidently TCVN3 and never confidently Unicode was typed in TCVN3.
    """
    is_text = values.map(lambda v: isinstance(v, str))
    distinct = values[is_text].unique()
    labels = {v: detect(v) for v in distinct}
    counts = values[is_text].map(labels).value_counts()
    confident_unicode = sum(1 for v in distinct if labels[v] == "unicode" and _has_unicode_only(v))
    legacy = [enc for enc in ("tcvn3", "vni") if counts.get(enc, 0)]
    if legacy and not confident_unicode:
        column_encoding = max(legacy, key=lambda enc: counts.get(enc, 0))
        for v in distinct:
            if labels[v] in ("unicode", "uncertain") and column_encoding in legacy_candidates(v):
                labels[v] = column_encoding
    converted = {v: to_unicode(v, labels[v]) if labels[v] in ("tcvn3", "vni") else v for v in distinct}
    text_values = values.where(~is_text, values.map(converted))
    label = values.map(labels).astype(object).where(is_text, None)
    return text_values, label


def from_unicode(text: str, encoding: str) -> str:
    """Unicode -> the characters a legacy font would show: what an old file holds (for tests and corpora)."""
    text = unicodedata.normalize("NFC", text)
    table = _REVERSE[encoding]
    out = []
    for ch in text:
        if ch in table:
            out.append(table[ch])
        elif encoding == "tcvn3" and ch.lower() in table:
            out.append(table[ch.lower()])      # a toned capital: the capitals font used the lower-case code
        else:
            out.append(ch)
    return "".join(out)


_REVERSE = {"tcvn3": {u: c for c, u in TCVN3.items()}, "vni": {}}
for _code, _uni in sorted(VNI.items(), key=lambda kv: len(kv[0])):
    _REVERSE["vni"].setdefault(_uni, _code)
