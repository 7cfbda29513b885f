"""Problem keywords as regexes (dictionary.problem_keywords.keyword_regex): pure and property-tested."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from orchestration.lib.dictionary.tables import GAP_CHARS, keyword_normalized, keyword_regex

CLAUSE_CHARS = st.text(alphabet=st.sampled_from("的了很都还是个机器屏幕 abc123"), max_size=40)
PUNCTUATION = st.sampled_from(list(",.;:!?，。；：！？、"))


@given(CLAUSE_CHARS)
def test_a_gap_spans_at_most_the_language_limit_within_a_clause(filler):
    rx = re.compile(keyword_regex("摄像头…不能用", "zh"))
    found = rx.search("摄像头" + filler + "不能用") is not None
    # a shorter way through the filler may exist (the filler itself may hold no part)
    assert found == (len(filler) <= GAP_CHARS["zh"])


@given(CLAUSE_CHARS, PUNCTUATION, CLAUSE_CHARS)
def test_a_gap_never_crosses_punctuation(before, mark, after):
    text = "驱动" + before + mark + after + "不全"
    assert re.search(keyword_regex("驱动…不全", "zh"), text) is None


def test_english_parts_keep_word_boundaries_and_stems():
    rx = re.compile(keyword_regex("problem*…recogni*", "en"))
    assert rx.search("i had problems getting the player to recognize two discs")
    assert not rx.search("no problem, it recognised")  # the comma ends the clause
    assert not rx.search("noproblem recognize")  # a part starts at a word boundary
    assert keyword_normalized("problem*…recogni*") == "problem…recogni"
    plain = re.compile(keyword_regex("no…output", "en"))
    assert plain.search("there is no composite video output")
    assert not plain.search("nothing but output")


def test_an_apostrophe_matches_its_typographic_and_tokenised_forms():
    rx = re.compile(keyword_regex("didn't work", "en"))
    for text in ("it didn't work", "it didn’t work", 'it didn " t work', "it didn`t work"):
        assert rx.search(text), text
    assert not rx.search("it didnt work well")  # spelt without one: a keyword of its own
