"""Story clustering: precision and recall of the grouping, measured.

Crafted versions of a few stories (same people, different events as hard negatives) always run;
real articles from ../shared/data with programmatic rewrites (sentences dropped and moved, words
replaced, attribution added) run when that folder is present.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import time
from pathlib import Path

import pytest

from monitor.dedupe.fingerprint import fingerprint
from monitor.dedupe.stories import assign_story
from monitor.store.db import open_database

DATA = Path(__file__).resolve().parents[1] / "data"
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "data" / "corpus"
SYNONYMS = {"قال": "أفاد", "وقال": "وأفاد", "أكد": "شدد", "وأكد": "وشدد", "اليوم": "الثلاثاء",
            "أعلن": "كشف", "وأعلن": "وكشف", "الذي": "والذي", "كبير": "واسع", "مصادر": "أوساط"}


def cluster(texts: list[str]) -> list[int]:
    """The daemon's own path: each article placed by assign_story in a real SQLite database
    (LSH candidates, then verification), one after the other."""
    db = open_database(":memory:")
    db.conn.execute("INSERT INTO feeds(name, url, created_at) VALUES ('f', 'http://x', 0)")
    labels = []
    for i, text in enumerate(texts):
        with db.transaction() as conn:
            conn.execute("INSERT INTO articles(id, identity, feed_id, first_seen_at) "
                         "VALUES (?, ?, 1, ?)", (i + 1, f"a{i}", 1000.0 + i))
            labels.append(assign_story(conn, i + 1, fingerprint(text), now=1000.0 + i,
                                       window_seconds=86400).story_id)
    db.close()
    return labels


def pair_scores(labels: list[int], truth: list[str]) -> tuple[float, float, int, int]:
    """Pairwise precision and recall of a clustering against true story labels."""
    tp = fp = fn = 0
    for i, j in itertools.combinations(range(len(labels)), 2):
        same_pred, same_true = labels[i] == labels[j], truth[i] == truth[j]
        tp += same_pred and same_true
        fp += same_pred and not same_true
        fn += same_true and not same_pred
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, tp + fn, fp + tp


def rewrite(text: str, rng: random.Random) -> str:
    """A different outlet's version of the same report."""
    sents = [s.strip() for s in re.split(r"(?<=[.!؟?])\s+|\n+", text) if len(s.strip()) > 20]
    if len(sents) > 4:
        for _ in range(max(1, len(sents) // 5)):
            sents.pop(rng.randrange(1, len(sents)))
    if len(sents) > 3:
        k = rng.randrange(1, len(sents) - 1)
        sents[k], sents[k + 1] = sents[k + 1], sents[k]
    out = " ".join(sents)
    out = " ".join(SYNONYMS.get(w, w) if rng.random() < 0.7 else w for w in out.split())
    out = re.sub(r"\d+", lambda m: str(int(m.group()) + rng.choice([0, 0, 1])), out)
    return ("نقلت وكالة نوفا الإيطالية عن مصادر مطلعة أن " + out +
            " وتأتي هذه التطورات في ظل توتر متزايد تشهده المنطقة.")


def test_crafted_stories_group_correctly():
    rows = [json.loads(x) for x in (DATA / "stories_crafted.jsonl").read_text().splitlines()]
    labels = cluster([r["text"] for r in rows])
    precision, recall, _, _ = pair_scores(labels, [r["story"] for r in rows])
    print(f"\ncrafted: precision {precision:.2f} recall {recall:.2f}")
    assert precision == 1.0 and recall == 1.0


@pytest.mark.skipif(not CORPUS.exists(), reason="../shared/data is not present")
def test_real_articles_and_rewrites_precision_recall():
    rng = random.Random(7)
    sample = [json.loads(x) for x in (CORPUS / "ant-multisource-v2.1-sample.jsonl").open()]
    hard = [json.loads(x) for x in (CORPUS / "ant-hard-cases-libya-russia-wagner.jsonl").open()]
    # The corpus itself holds the same wire report from several outlets on the same day, so
    # "different story" is only certain across days: take at most one article per day.
    days: set[str] = set()

    def new_day(art: dict) -> bool:
        day = art["id"].rsplit("-", 1)[-1]
        if day in days:
            return False
        days.add(day)
        return True
    pool = [a for a in sample if a["category"] in ("middleEast", "internationalNews")
            and len(a["text"]) > 800]
    rng.shuffle(pool)
    originals = [a for a in pool if new_day(a)][:60]
    texts, truth = [], []
    for n, art in enumerate(originals):
        texts += [art["text"], rewrite(art["text"], rng)]
        truth += [f"s{n}", f"s{n}"]
    # Hard negatives: other days' reports about the same people (Haftar, Libya and Russia).
    for n, art in enumerate(a for a in hard if new_day(a)):
        texts.append(art["text"])
        truth.append(f"h{n}")
    started = time.perf_counter()
    labels = cluster(texts)
    per_article = (time.perf_counter() - started) / len(texts)
    precision, recall, true_pairs, pred_pairs = pair_scores(labels, truth)
    print(f"\nreal: {len(texts)} articles, {true_pairs} same-story pairs, {pred_pairs} grouped "
          f"pairs: precision {precision:.3f} recall {recall:.3f} "
          f"({per_article * 1000:.1f} ms per article: fingerprint, lookup, store)")
    assert precision >= 0.9 and recall >= 0.9


def test_band_hashes_are_the_same_from_a_fingerprint_and_from_its_stored_blob() -> None:
    """The index is rebuilt from stored signatures: both ways must give crc32 of each band."""
    import zlib
    from array import array

    from monitor.dedupe.fingerprint import BANDS, ROWS, bands_of_blob, fingerprint

    fp = fingerprint("قالت مصادر محلية في منطقة الجفرة إن آخر مجموعة من عناصر شركة فاجنر "
                     "العسكرية الخاصة غادرت قاعدة الجفرة الجوية بعد تسليم مواقعها")
    stored = [(b, zlib.crc32(array("Q", fp.signature[b * ROWS:(b + 1) * ROWS]).tobytes()))
              for b in range(BANDS)]
    assert fp.bands() == stored
    assert fp.bands() == stored          # the cached copy too
    assert bands_of_blob(fp.to_blob()) == stored
