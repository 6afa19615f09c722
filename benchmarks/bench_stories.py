"""Story clustering cost per article and backtest speed, each against a baseline in the same run.

    python benchmarks/bench_stories.py [--articles 2000] [--backtest 10000] [--json]

1. Clustering: articles placed one by one with assign_story in an on-disk SQLite database (the
   daemon's path: fingerprint, LSH lookup, verification, insert) vs. a naive baseline comparing
   each article with every earlier one. Reports ms per article for both.
2. Backtest: 10,000 stored articles re-scored with two rule sets, in 2 worker processes vs. 1.
Texts are the real ANT corpus from ../shared/data when present, else the labelled set.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.dedupe.fingerprint import fingerprint  # noqa: E402
from monitor.dedupe.stories import assign_story, is_same_story  # noqa: E402
from monitor.match.backtest import run_backtest  # noqa: E402
from monitor.store.db import open_database  # noqa: E402

CORPUS = ROOT.parent / "shared" / "data" / "corpus" / "ant-multisource-v2.1-sample.jsonl"


def texts(n: int) -> list[tuple[str, str]]:
    if CORPUS.exists():
        rows = [json.loads(x) for x in CORPUS.open()]
        base = [(r["title"], r["text"]) for r in rows]
    else:
        rows = [json.loads(x) for x in (ROOT / "tests" / "data" / "labelled.jsonl").open()]
        base = [(r.get("title", ""), r.get("text", "")) for r in rows]
    rng = random.Random(1)
    out = []
    while len(out) < n:
        title, text = base[len(out) % len(base)]
        words = text.split()
        rng.shuffle(words[: len(words) // 4])   # vary repeats so they are not exact copies
        out.append((title, " ".join(words)))
    return out


def bench_cluster(n: int) -> dict[str, float]:
    docs = texts(n)
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(Path(tmp) / "s.db")
        db.conn.execute("INSERT INTO feeds(name, url, created_at) VALUES ('f', 'http://x', 0)")
        started = time.perf_counter()
        for i, (_, text) in enumerate(docs):
            with db.transaction() as conn:
                conn.execute("INSERT INTO articles(id, identity, feed_id, first_seen_at) "
                             "VALUES (?, ?, 1, ?)", (i + 1, f"a{i}", 1000.0 + i))
                assign_story(conn, i + 1, fingerprint(text), now=1000.0 + i, window_seconds=1e9)
        lsh_ms = (time.perf_counter() - started) * 1000 / n
        db.close()
    fps = [fingerprint(t) for _, t in docs[: min(n, 800)]]
    started = time.perf_counter()
    for i, fp in enumerate(fps):
        for j in range(i):
            is_same_story(fp, fps[j].signature, fps[j].shingles)
    naive_ms = (time.perf_counter() - started) * 1000 / len(fps)
    return {"articles": n, "lsh_ms_per_article": round(lsh_ms, 2),
            "naive_all_pairs_ms_per_article_at_800": round(naive_ms, 2)}


def bench_backtest(n: int) -> dict[str, float]:
    docs = texts(n)
    articles = [(i + 1, t, x, f"https://example.org/{i}") for i, (t, x) in enumerate(docs)]
    rules = ROOT / "rules"
    out: dict[str, float] = {"articles": n}
    for workers in (1, 2):
        started = time.perf_counter()
        run_backtest(articles, rules, rules, workers=workers, progress=None)
        out[f"seconds_{workers}_worker"] = round(time.perf_counter() - started, 1)
    out["speedup"] = round(out["seconds_1_worker"] / out["seconds_2_worker"], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--backtest", type=int, default=10000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = {"cluster": bench_cluster(args.articles), "backtest": bench_backtest(args.backtest)}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    c, b = result["cluster"], result["backtest"]
    print(f"clustering: {c['lsh_ms_per_article']} ms/article over {c['articles']} articles "
          f"(daemon path) vs naive all-pairs {c['naive_all_pairs_ms_per_article_at_800']} ms/article "
          f"at only 800 articles")
    print(f"backtest of {b['articles']} articles: {b['seconds_2_worker']} s with 2 workers, "
          f"{b['seconds_1_worker']} s with 1 (x{b['speedup']})")


if __name__ == "__main__":
    main()
