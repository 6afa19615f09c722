"""Story clustering cost per article and backtest speed, each against a baseline in the same run.

    python benchmarks/bench_stories.py [--articles 2000] [--backtest 10000] [--json]

1. Clustering: articles placed one by one with assign_story in an on-disk SQLite database (the
   daemon's path: fingerprint, LSH lookup, verification, insert) vs. a naive baseline comparing
   each article with every earlier one. Reports ms per article for both.
2. Backtest: 10,000 articles re-scored with two rule sets, in 2 worker processes vs. 1.
3. ``--backtest-db N``: ``monitor backtest`` itself (a subprocess) on a state database holding
   N articles: wall time, articles/s and the command's peak RSS (it streams the articles).
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
from monitor.match.backtest import chunked, run_backtest  # noqa: E402
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
        fps = [fingerprint(text) for _, text in docs]   # made in the extraction workers
        started, cpu0 = time.perf_counter(), _cpu()
        for i, fp in enumerate(fps):
            with db.transaction() as conn:
                conn.execute("INSERT INTO articles(id, identity, feed_id, first_seen_at) "
                             "VALUES (?, ?, 1, ?)", (i + 1, f"a{i}", 1000.0 + i))
                assign_story(conn, i + 1, fp, now=1000.0 + i, window_seconds=1e9)
        lsh_ms = (time.perf_counter() - started) * 1000 / n
        lsh_cpu_ms = (_cpu() - cpu0) * 1000 / n
        db.close()
    fps = [fingerprint(t) for _, t in docs[: min(n, 800)]]
    started = time.perf_counter()
    for i, fp in enumerate(fps):
        for j in range(i):
            is_same_story(fp, fps[j].signature, fps[j].shingles)
    naive_ms = (time.perf_counter() - started) * 1000 / len(fps)
    return {"articles": n, "lsh_ms_per_article": round(lsh_ms, 2),
            "lsh_cpu_ms_per_article": round(lsh_cpu_ms, 2),
            "naive_all_pairs_ms_per_article_at_800": round(naive_ms, 2)}


def _cpu() -> float:
    """User + system CPU seconds of this process (system time is where WAL writes show)."""
    import resource
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bench_backtest(n: int) -> dict[str, float]:
    docs = texts(n)
    articles = [(i + 1, t, x, f"https://example.org/{i}") for i, (t, x) in enumerate(docs)]
    rules = ROOT / "rules"
    out: dict[str, float] = {"articles": n}
    for workers in (1, 2):
        started = time.perf_counter()
        run_backtest(chunked(articles), len(articles), rules, rules, workers=workers,
                     progress=None)
        out[f"seconds_{workers}_worker"] = round(time.perf_counter() - started, 1)
    out["speedup"] = round(out["seconds_1_worker"] / out["seconds_2_worker"], 2)
    return out


def bench_backtest_cli(n: int) -> dict[str, float]:
    import os
    import resource
    import subprocess

    docs = texts(min(n, 5000))
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "state" / "monitor.db"
        db = open_database(db_path)
        now = time.time()
        with db.transaction() as conn:
            conn.execute("INSERT INTO feeds(name, url, created_at) VALUES ('f', 'http://x', 0)")
            conn.executemany(
                "INSERT INTO articles(identity, canonical_url, feed_id, title, text, first_seen_at,"
                " extraction_status) VALUES (?, ?, 1, ?, ?, ?, 'extracted')",
                ((f"a{i}", f"https://example.org/{i}", docs[i % len(docs)][0],
                  docs[i % len(docs)][1], now) for i in range(n)))
        db.close()
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")},
               "MONITOR_DATABASE": str(db_path), "MONITOR_RULES_PATH": str(ROOT / "rules")}
        started = time.perf_counter()
        res = subprocess.run([sys.executable, "-m", "monitor", "backtest", "--rules",
                              str(ROOT / "rules"), "--since", "1d", "--jsonl"], env=env,
                             capture_output=True, text=True, check=True)
        wall = time.perf_counter() - started
        summary = json.loads(res.stdout.splitlines()[-1])
        assert summary["articles"] == n, summary
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"articles": n, "seconds": round(wall, 1), "per_second": round(n / wall),
            "peak_rss_mb": round(peak_mb, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--backtest", type=int, default=10000)
    parser.add_argument("--backtest-db", type=int, default=0,
                        help="also run `monitor backtest` on a database of this many articles")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = {"cluster": bench_cluster(args.articles)}
    if args.backtest:
        result["backtest"] = bench_backtest(args.backtest)
    if args.backtest_db:
        result["backtest_cli"] = bench_backtest_cli(args.backtest_db)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    c = result["cluster"]
    print(f"clustering: {c['lsh_ms_per_article']} ms/article ({c['lsh_cpu_ms_per_article']} ms of "
          f"CPU) over {c['articles']} articles (daemon path: lookup, verification, store) vs "
          f"naive all-pairs {c['naive_all_pairs_ms_per_article_at_800']} ms/article at only 800 "
          f"articles")
    if "backtest" in result:
        b = result["backtest"]
        print(f"backtest of {b['articles']} articles: {b['seconds_2_worker']} s with 2 workers, "
              f"{b['seconds_1_worker']} s with 1 (x{b['speedup']})")
    if "backtest_cli" in result:
        d = result["backtest_cli"]
        print(f"monitor backtest on a database of {d['articles']} articles: {d['seconds']} s "
              f"({d['per_second']}/s), peak RSS of its largest process {d['peak_rss_mb']} MB")


if __name__ == "__main__":
    main()
