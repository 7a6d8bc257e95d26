"""Which reading of a cell is plausible (as written, TCVN3, VNI), and how its column and common syllables decide between them."""
from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import NamedTuple

from common.yaml_data import load_yaml
from mappings.legacy_font_tables import (
    _BEYOND_CP1252,
    _SYMBOLS,
    _VIETNAMESE_LATIN1,
    _VNI_PAIRS,
    _WORD,
    LEGACY,
    _word_reading,
    to_unicode,
)
from mappings.vietnamese_syllables import _case_ok, _reads_as_written, _syllable_ok, _word_ok


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

    data = load_yaml(resources.files("mappings").joinpath("common_syllables.yaml").read_text(encoding="utf-8"))
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
