"""Whether a word is a Vietnamese syllable: onsets, rhymes, where the tone sits, and letter case."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from mappings.legacy_font_tables import _TONE_MARKS, _VOWELS

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
