"""Every figure in a result table of README.md and docs/*.md is in the JSON under benchmarks/results/ it names.

The convention (docs/testing.md, "The figures in README and docs/"):

- a *result table* is a markdown table with a number with a decimal point in a row below its header;
- its JSON files are the ``benchmarks/results/...json`` paths (globs and ``{a,b}`` allowed) named in the lines
  between the previous table or heading and the table (at most ``LOOKBACK`` lines up), in a command's
  ``--json``, in prose or in a comment ``<!-- results: PATH ... -->``; a row that names a JSON itself is checked
  against that JSON alone;
- every number with a decimal point in a row is, rounded to the decimals it is printed with, a number found
  anywhere in those JSON files (recursively), or that number times 100 (a percentage), or its negative;
- figures that are not in the JSON are listed just above the table in ``<!-- not in the JSON (REASON): N N -->``
  (each must appear in the table); a table with decimals that is not a result is marked
  ``<!-- results: none (REASON) -->``.

Every ``benchmarks/results/`` path that README.md or docs/ names must also exist.
"""

from __future__ import annotations

import glob
import json
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from vae_demo.core.provenance import PROVENANCE_KEY

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LOOKBACK = 30  # lines above a table searched for its JSON paths and comments

NUMBER = re.compile(r"(?:(?<![\w.])[-+−])?(?<![\w.])\d+\.\d+(?![.\d])")  # 0.19-0.20: two numbers
JSON_PATH = re.compile(r"(?:\.\./)?(benchmarks/results/[\w.*{},/\-]*?\.json)")
RESULT_PATH = re.compile(r"(?:\.\./)?(benchmarks/results/[\w.*{},/\-]*[\w*}/])")
EXEMPT = re.compile(r"<!--\s*not in the JSON \(([^)]*)\):([^>]*)-->")
NO_RESULTS = re.compile(r"<!--\s*results:\s*none\b")


def braces(pattern: str) -> list[str]:
    """``a{b,c}d`` -> ``abd``, ``acd`` (one level is all the docs use, applied until none is left)."""
    m = re.search(r"\{([^{}]*)\}", pattern)
    if not m:
        return [pattern]
    return [out for alt in m.group(1).split(",") for out in braces(pattern[: m.start()] + alt + pattern[m.end() :])]


def expand(pattern: str) -> list[Path]:
    return [Path(p) for b in braces(pattern) for p in sorted(glob.glob(str(ROOT / b)))]


def numbers_in(obj) -> list[float]:
    if isinstance(obj, bool):
        return []
    if isinstance(obj, (int, float)):
        return [float(obj)]
    if isinstance(obj, dict):
        return [x for v in obj.values() for x in numbers_in(v)]
    if isinstance(obj, list):
        return [x for v in obj for x in numbers_in(v)]
    return []


_cache: dict[Path, list[float]] = {}


def json_numbers(paths: list[Path]) -> list[float]:
    out = []
    for p in paths:
        if p not in _cache:
            _cache[p] = numbers_in(json.loads(p.read_text()))
        out += _cache[p]
    return out


def printed(value: float, decimals: int) -> set[str]:
    """``value`` as a table prints it with ``decimals`` places: Python's rounding or half-up, without sign."""
    v = abs(value)
    q = Decimal(1).scaleb(-decimals)
    return {f"{v:.{decimals}f}", str(Decimal(repr(v)).quantize(q, rounding=ROUND_HALF_UP))}


def found(figure: str, values: list[float]) -> bool:
    text = figure.lstrip("+-−")
    decimals = len(text.split(".")[1])
    return any(text in printed(v, decimals) or text in printed(100 * v, decimals) for v in values)


def tables(path: Path):
    """(first line number, the lines above it, the table's lines) of each markdown table in ``path``."""
    lines = path.read_text().split("\n")
    i, start_of_text, fenced = 0, 0, False
    while i < len(lines):
        if lines[i].startswith("```"):
            fenced = not fenced
        elif fenced:
            pass
        elif lines[i].startswith("|") and i + 1 < len(lines) and re.match(r"^\|[\s:|-]+\|\s*$", lines[i + 1]):
            j = i
            while j < len(lines) and lines[j].startswith("|"):
                j += 1
            yield i + 1, lines[max(start_of_text, i - LOOKBACK) : i], lines[i:j]
            start_of_text = i = j
            continue
        elif lines[i].startswith("#"):
            start_of_text = i + 1
        i += 1


def result_tables():
    for doc in DOCS:
        for line, above, table in tables(doc):
            rows = table[2:]
            if any(NUMBER.search(r) for r in rows):
                yield pytest.param(doc, line, above, table, id=f"{doc.relative_to(ROOT)}:{line}")


@pytest.mark.parametrize("doc, line, above, table", list(result_tables()))
def test_every_figure_of_a_result_table_is_in_its_json(doc, line, above, table):
    preamble = "\n".join(above)
    if NO_RESULTS.search(preamble):
        return
    exempt = {n.strip() for _, ns in EXEMPT.findall(preamble) for n in ns.split()}
    body = "\n".join(table[2:])
    unused = [n for n in exempt if not re.search(r"(?<![\w.])" + re.escape(n) + r"(?![.\d])", body)]
    assert not unused, f"{doc.name}:{line}: exempt figures not in the table: {unused}"
    table_paths = [p for pattern in JSON_PATH.findall(preamble) for p in expand(pattern)]
    missing = []
    for k, row in enumerate(table[2:], start=line + 2):
        row_patterns = JSON_PATH.findall(row)
        paths = [p for pattern in row_patterns for p in expand(pattern)] if row_patterns else table_paths
        cells = JSON_PATH.sub("", row)
        figures = [f for f in NUMBER.findall(cells) if f not in exempt]
        if not figures:
            continue
        assert paths, (
            f"{doc.name}:{line}: a result table that names no JSON under benchmarks/results/ (name it above the "
            "table or in its rows, list what is not in it in <!-- not in the JSON (why): ... -->, or mark the "
            "table <!-- results: none (why) -->)"
        )
        values = json_numbers(paths)
        names = ", ".join(sorted(str(p.relative_to(ROOT)) for p in paths))
        missing += [f"line {k}: {f} is not in {names}" for f in figures if not found(f, values)]
    assert not missing, f"{doc.name}:{line}: " + "; ".join(missing)


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: str(d.relative_to(ROOT)))
def test_every_results_path_named_exists(doc):
    text = doc.read_text()
    missing = sorted({p for p in RESULT_PATH.findall(text) if not expand(p)})
    assert not missing, f"{doc.name} names results that do not exist: {missing}"


def readme_result_jsons() -> list[Path]:
    """Every JSON that a result table of README.md takes its figures from (its rows' or the lines above it)."""
    paths = set()
    for _line, above, table in tables(ROOT / "README.md"):
        rows = table[2:]
        if not any(NUMBER.search(r) for r in rows) or NO_RESULTS.search("\n".join(above)):
            continue
        for text in ["\n".join(above), *rows]:
            paths |= {p for pattern in JSON_PATH.findall(text) for p in expand(pattern)}
    return sorted(paths)


def test_every_json_behind_a_readme_result_carries_its_provenance():
    """Issue 33: each README figure comes from a run that recorded its commit, machine, versions and command."""
    paths = readme_result_jsons()
    assert len(paths) >= 10, paths  # the parser found the results table
    without = [str(p.relative_to(ROOT)) for p in paths if PROVENANCE_KEY not in json.loads(p.read_text())]
    assert not without, f"README figures from JSONs without provenance (re-run their commands): {without}"
