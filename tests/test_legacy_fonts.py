"""TCVN3 and VNI text: every letter in every tone, real names, mixed columns, and what must stay untouched."""
from __future__ import annotations

import time
import unicodedata

import pandas as pd
import pytest

from mappings.legacy_fonts import decode_series, detect, from_unicode, to_unicode

VOWELS = "aăâeêioôơuưy"
TONED = [unicodedata.normalize("NFC", v + t) for v in VOWELS for t in ["", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323"]]
NAMES = ["Nguyễn Thị Thu Hường", "Đặng Văn Ơn", "Huỳnh Ngọc Trưởng", "Ấp Nhơn Lộc 1", "Xã Thạnh Phú",
         "Hộ cận nghèo", "Trần Thị Ánh Tuyết", "Lê Văn Sỹ", "Phường Cái Khế", "Quan hệ với chủ hộ"]


@pytest.mark.parametrize("encoding", ["tcvn3", "vni"])
def test_every_letter_in_every_tone_round_trips(encoding):
    for letter in TONED + ["đ"]:
        word = f"b{letter}" if letter not in ("đ",) else "đi"     # a syllable around the letter
        if letter.startswith(("ư", "ơ")) or letter[:1] in "ăâ":
            word = f"l{letter}n" if letter[:1] not in "ăâ" else f"b{letter}n"
        legacy = from_unicode(word, encoding)
        assert to_unicode(legacy, encoding) == word, (encoding, letter, legacy)
    for letter in TONED:
        upper = letter.upper()
        word = "NG" + upper + "NG" if letter[:1] not in "ăâ" else "B" + upper + "N"
        legacy = from_unicode(word, encoding)
        assert to_unicode(legacy, encoding) == word, (encoding, upper, legacy)


@pytest.mark.parametrize("encoding", ["tcvn3", "vni"])
@pytest.mark.parametrize("name", NAMES)
def test_real_names_are_detected_and_converted(encoding, name):
    legacy = from_unicode(name, encoding)
    assert legacy != name
    assert detect(legacy) == encoding, legacy
    assert to_unicode(legacy, encoding) == name


def test_published_examples():
    assert to_unicode("NguyÔn V¨n An", detect("NguyÔn V¨n An")) == "Nguyễn Văn An"      # TCVN3
    assert to_unicode("Ninh B×nh", detect("Ninh B×nh")) == "Ninh Bình"
    assert to_unicode("Xin chaøo caùc baïn", detect("Xin chaøo caùc baïn")) == "Xin chào các bạn"   # VNI
    assert to_unicode("NGUYÔN V¡N AN", "tcvn3") == "NGUYỄN VĂN AN"                    # capitals font


def test_unicode_and_ascii_stay_untouched():
    assert detect("Nguyen Van An") == "ascii"
    for text in ["Nguyễn Văn An", "Hà", "Lã", "José Müller", "Café", "Ông Bà"]:
        assert detect(text) == "unicode", text
    nfd = unicodedata.normalize("NFD", "Nguyễn Văn An")
    assert detect(nfd) == "unicode"


def test_garbage_that_looks_legacy_is_uncertain():
    assert detect("Ô¨Ô¨§§") == "uncertain"
    assert detect("©©©®") == "uncertain"


def test_mixed_column_is_decided_cell_by_cell_and_fast():
    cells = ["Nguyễn Văn An", from_unicode("Trần Thị Bình", "tcvn3"), from_unicode("Lê Văn Cường", "vni"),
             "Ô¨Ô¨§§", 12345, None, "Tran Van D"]
    text, label = decode_series(pd.Series(cells, dtype=object))
    assert list(label) == ["unicode", "tcvn3", "vni", "uncertain", None, None, "ascii"]
    assert list(text[:3]) == ["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường"]
    assert text[4] == 12345 and text[3] == "Ô¨Ô¨§§"
    distinct = [from_unicode(f"{n} {i}", "tcvn3") for i in range(2000) for n in NAMES[:1]]
    big = pd.Series(distinct * 100, dtype=object)
    started = time.perf_counter()
    _, labels = decode_series(big)
    assert time.perf_counter() - started < 2.0
    assert set(labels) == {"tcvn3"}
