"""How well problem typing does on labelled real complaint text: precision and recall per code.

The labelled sets live in `tests/data/`: `real_complaints_<lang>.tsv`, the development rows the
dictionary's keywords were extended from, and `real_complaints_<lang>_heldout.tsv`, rows labelled
before the classifier ever ran on them and never used to extend the dictionary (source,
description, primary code, secondary codes; see tests/data/README.md for sources, licences and
labelling rules).
Scoring is pure; `classify_texts` runs the dictionary's own classifier (the dbt macros, through
real dbt and DuckDB), so the figures are those of the pipeline.

    python -m orchestration.lib.dictionary.problem_scores            # print the report
    python -m orchestration.lib.dictionary.problem_scores --write F  # and write it to F
"""

from __future__ import annotations

import argparse
import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.lib.settings import REPO_ROOT

UNCLASSIFIED = "UNCLASSIFIED"
DATA_DIR = REPO_ROOT / "tests" / "data"
LANGUAGES = ("zh", "en")
PARTS = ("development", "held out")


@dataclass(frozen=True)
class Labelled:
    source: str
    text: str
    primary: str
    secondary: tuple[str, ...] = ()
    sample: str = "first"  # the sample the row was drawn in: "first" or "random.seed(<n>)"


@dataclass
class CodeScore:
    code: str
    support: int = 0  # labelled with this primary code
    predicted: int = 0  # predicted as this primary code
    correct: int = 0

    @property
    def precision(self) -> float | None:
        return self.correct / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        return self.correct / self.support if self.support else None


@dataclass
class Scores:
    rows: int = 0
    codable: int = 0
    codable_exact: int = 0  # exact primary code, among complaints that have one
    uncodable: int = 0
    uncodable_kept: int = 0  # left UNCLASSIFIED, among complaints that have no code
    per_code: dict[str, CodeScore] = field(default_factory=dict)

    @property
    def codable_accuracy(self) -> float:
        return self.codable_exact / self.codable if self.codable else 0.0

    @property
    def uncodable_accuracy(self) -> float:
        return self.uncodable_kept / self.uncodable if self.uncodable else 0.0


SAMPLE_SEED = re.compile(r"random\.seed\((\d+)\)")


def load_labelled(path: Path) -> list[Labelled]:
    """Rows of a labelled set; '#' lines are comments, and one naming `random.seed(<n>)` starts
    a later sample (the rows before it are the "first"). Raises naming file and line on a bad
    row."""
    rows: list[Labelled] = []
    sample = "first"
    with path.open(encoding="utf-8", newline="") as fh:
        for n, row in enumerate(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE), start=1):
            if row and row[0].startswith("#"):
                if seed := SAMPLE_SEED.search("\t".join(row)):
                    sample = f"random.seed({seed.group(1)})"
                continue
            if not row:
                continue
            if len(row) not in (3, 4) or not row[1].strip() or not row[2].strip():
                raise ValueError(f"{path.name} line {n}: want source, description, code[, secondary]")
            second = tuple(c.strip() for c in (row[3] if len(row) > 3 else "").split(",") if c.strip())
            rows.append(Labelled(row[0], row[1], row[2].strip(), second, sample))
    return rows


def score(labels: Sequence[str], predicted: Sequence[str]) -> Scores:
    """Exact-primary scores; UNCLASSIFIED counts as a code of its own in the per-code table."""
    if len(labels) != len(predicted):
        raise ValueError(f"{len(labels)} labels but {len(predicted)} predictions")
    s = Scores(rows=len(labels))
    for want, got in zip(labels, predicted):
        s.per_code.setdefault(want, CodeScore(want)).support += 1
        s.per_code.setdefault(got, CodeScore(got)).predicted += 1
        if want == got:
            s.per_code[want].correct += 1
        if want == UNCLASSIFIED:
            s.uncodable += 1
            s.uncodable_kept += got == UNCLASSIFIED
        else:
            s.codable += 1
            s.codable_exact += got == want
    return s


def set_path(lang: str, part: str) -> Path:
    """The file of one language's development or held-out rows."""
    return DATA_DIR / (f"real_complaints_{lang}.tsv" if part == "development"
                       else f"real_complaints_{lang}_heldout.tsv")


def classify_texts(texts: Sequence[str]) -> list[str]:
    """Primary codes from the pipeline's classifier (dbt macros compiled against the dictionary)."""
    from orchestration.lib.dictionary.testing import ConformRunner

    got = ConformRunner().run("classify", [(t,) for t in texts])
    return [g["problem_type_code"] for g in got]


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _line(name: str, s: Scores) -> str:
    return (f"| {name} | {s.rows} | {s.codable_exact}/{s.codable} = {_pct(s.codable_accuracy)} | "
            f"{s.uncodable_kept}/{s.uncodable} = {_pct(s.uncodable_accuracy)} |")


def render(results: dict[str, dict[str, tuple[list[Labelled], list[str]]]]) -> str:
    """Markdown report: development, held-out and all rows per language, then per code (all
    rows and held-out rows). `results[lang][part] = (rows, predicted codes)`."""
    made_by = ("Made by `python -m orchestration.lib.dictionary.problem_scores --write "
               "tests/data/real_complaints_scores.md`; a test fails when this file is stale.")
    targets = ("Targets (issue 12): exact primary code for ≥ 90% of codable complaints, ≥ 90% of "
               "uncodable ones left UNCLASSIFIED.")
    out = ["# Problem typing on real complaint text", "", made_by, targets, "",
           "| set | rows | codable: exact primary | uncodable: left UNCLASSIFIED |",
           "|---|---|---|---|"]
    scored: dict[tuple[str, str], Scores] = {}
    for lang, parts in results.items():
        for part in (*PARTS, "all"):
            pairs = [(r.primary, g) for p in ((part,) if part != "all" else PARTS)
                     for r, g in zip(*parts[p])]
            scored[lang, part] = score([w for w, _ in pairs], [g for _, g in pairs])
            out.append(_line(f"{lang} {part}", scored[lang, part]))
    out += ["", "## Per sample", "",
            ("Each sample was drawn and labelled before the classifier ran on it; "
             "tests/data/README.md says which samples' misses have been read since."), "",
            "| set | rows | codable: exact primary | uncodable: left UNCLASSIFIED |",
            "|---|---|---|---|"]
    for lang, parts in results.items():
        for part in PARTS:
            rows, got = parts[part]
            for sample in dict.fromkeys(r.sample for r in rows):
                pairs = [(r.primary, g) for r, g in zip(rows, got) if r.sample == sample]
                out.append(_line(f"{lang} {part}, {sample} sample",
                                 score([w for w, _ in pairs], [g for _, g in pairs])))
    for lang in results:
        for part in ("all", "held out"):
            s = scored[lang, part]
            out += ["", f"## {lang}: per code, {part} rows", "",
                    "| code | labelled | predicted | correct | precision | recall |",
                    "|---|---|---|---|---|---|"]
            for code in sorted(s.per_code, key=lambda c: (c == UNCLASSIFIED, c)):
                c = s.per_code[code]
                out.append(f"| {code} | {c.support} | {c.predicted} | {c.correct} | "
                           f"{_pct(c.precision)} | {_pct(c.recall)} |")
    return "\n".join(out) + "\n"


def build_report() -> str:
    sets = {(lang, part): load_labelled(set_path(lang, part)) for lang in LANGUAGES for part in PARTS}
    got = iter(classify_texts([r.text for rows in sets.values() for r in rows]))  # one dbt compile
    results: dict[str, dict[str, tuple[list[Labelled], list[str]]]] = {lang: {} for lang in LANGUAGES}
    for (lang, part), rows in sets.items():
        results[lang][part] = (rows, [next(got) for _ in rows])
    return render(results)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", type=Path, help="also write the report to this file")
    args = ap.parse_args(argv)
    report = build_report()
    print(report, end="")
    if args.write:
        args.write.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
