"""Quality of the shipped pack: labelled snippets, the five seeds, and false alerts on real corpora.

The corpus and seed tests read ../shared (never copied into the repo) and skip when it is absent.
Each prints its measurement (run with -s to see it).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from monitor.match import Matcher
from tests.match.conftest import shared_path

DATA = Path(__file__).resolve().parents[1] / "data"
LABELLED = DATA / "labelled.jsonl"
# Floors per labelled set, pinned at what the shipped pack measures (docs/matching.md §5) less a
# little slack; they are never lowered to let an edit through. ``test`` is the frozen part,
# written apart from the rules (frozen at commit cdf4bea); ``dev`` is what the pack is tuned on;
# ``legacy`` was written together with the first pack; ``heldout`` is fifteen more writers' sets
# (q, s, t (ids w-), x, a and r6d, r6h, r7g, r7h, r8e, r8f, r9e, r9f, r10e, r10f), never tuned on.
FLOORS = {
    "legacy": (DATA / "labelled.jsonl", 0.98, 0.98),
    "dev": (DATA / "labelled_dev.jsonl", 0.98, 0.97),
    "test": (DATA / "labelled_test.jsonl", 0.95, 0.86),
    "heldout": (DATA / "labelled_heldout.jsonl", 0.97, 0.95),
}


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def test_labelled_sets_are_big_and_balanced() -> None:
    rows = {name: read_jsonl(path) for name, (path, _, _) in FLOORS.items()}
    written = rows["dev"] + rows["test"]
    assert len(written) >= 400                       # written apart from the first pack
    for name, got in rows.items():
        labels = Counter(r["label"] for r in got)
        assert labels[True] >= 60 and labels[False] >= 60, name
        assert len({r["id"] for r in got}) == len(got), name
    texts = {name: {r["text"] for r in got if r["text"]} for name, got in rows.items()}
    assert not texts["dev"] & texts["test"] and not texts["dev"] & texts["heldout"]
    assert not texts["test"] & texts["heldout"]


@pytest.mark.parametrize("name", list(FLOORS))
def test_precision_and_recall_on_labelled_snippets(matcher: Matcher, name: str) -> None:
    path, min_precision, min_recall = FLOORS[name]
    tp = fp = fn = 0
    misses = []
    for row in read_jsonl(path):
        alert = matcher.score(row["title"], row["text"]).alert
        tp += alert and row["label"]
        fp += alert and not row["label"]
        fn += row["label"] and not alert
        if alert != row["label"]:
            misses.append(row["id"])
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    print(f"\n{name}: precision {precision:.3f} recall {recall:.3f} "
          f"(tp {tp}, fp {fp}, fn {fn}); wrong: {misses}")
    assert precision >= min_precision, misses
    assert recall >= min_recall, misses


def test_all_seed_articles_alert(matcher: Matcher) -> None:
    seeds = sorted(shared_path("seeds").glob("*.txt"))
    if not seeds:
        pytest.skip("no seed articles")
    silent = []
    for path in seeds:
        title, _, text = path.read_text(encoding="utf-8").partition("\n")
        result = matcher.score(title.strip(), text)
        print(f"\nseed {path.name}: score {result.score:.1f} alert {result.alert}")
        if not result.alert:
            silent.append(path.name)
    assert len(seeds) >= 5 and silent == []


@pytest.mark.parametrize(("name", "max_rate"), [
    ("ant-multisource-v2.1-sample.jsonl", 0.002),
    ("ant-jawharafm-v1.1-sample.jsonl", 0.002),
    ("ant-hard-cases-libya-russia-wagner.jsonl", 0.01),
])
def test_false_alert_rate_on_real_corpus(matcher: Matcher, name: str, max_rate: float) -> None:
    rows = read_jsonl(shared_path("data", "corpus", name))
    alerts = [r["id"] for r in rows if matcher.score(r["title"], r["text"]).alert]
    rate = len(alerts) / len(rows)
    print(f"\n{name}: {len(alerts)}/{len(rows)} false alerts ({100 * rate:.2f} %) {alerts[:10]}")
    assert rows and rate < max_rate, alerts


def test_variant_matching_false_hits_stay_rare(matcher: Matcher) -> None:
    """Variant-only hits on 3,000 pre-2019 articles (which name none of these people) are noise."""
    docs = 0
    words: Counter[str] = Counter()
    for name in ("ant-multisource-v2.1-sample.jsonl", "ant-jawharafm-v1.1-sample.jsonl"):
        for row in read_jsonl(shared_path("data", "corpus", name)):
            variant = [h for h in matcher.score(row["title"], row["text"]).hits if h.variant]
            docs += bool(variant)
            words.update(f"{h.entity}:{h.match}" for h in variant)
    print(f"\nvariant-only hits in {docs} of 3000 sample documents: {dict(words)}")
    assert docs <= 6
