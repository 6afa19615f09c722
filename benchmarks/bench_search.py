"""Archive search at scale: ``monitor search`` queries on a store of N articles against naive
scans of the same rows, in the same run.

    python -m benchmarks bench_search [--articles 1000000] [--text-chars 0] [--json FILE]

The store is a real state database (migrations applied) of N synthetic articles made from real
Arabic news text: the ANT corpus samples in ../shared/data (general news; its "hard cases" about
Libya, Russia and Wagner mixed in at the 1 % they have in the full corpora), else the labelled
texts in tests/data. Each article is a corpus text with a quarter of its words shuffled and one
made-up surname (each in about 20 articles: the "rare name"); dates spread over two years. Texts
are full length unless ``--text-chars`` cuts them. The database is cached under
/tmp/monitor-bench/ by size, so reruns skip the build.

Figures: median milliseconds of ``run_search`` (limit 20, warm cache) for a rare name, a common
word, two words, a phrase, and with --since / --entity; against (1) SQL ``LIKE`` over every row
(raw text: no normalisation, clitics or ranking, so a lower bound of a naive search) and (2) the
Python normalise-and-search the index replaces, timed on a sample and scaled to N.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import Row, dump, median, print_rows  # noqa: E402
from monitor.search.fields import INDEX_FORMAT, field_tokens, index_fields, skeleton_tokens  # noqa: E402
from monitor.store.db import open_database  # noqa: E402

# ../shared/data beside the repository (a worktree may sit one level further down).
DATA = next((p / "shared" / "data" / "corpus" for p in ROOT.parents
             if (p / "shared" / "data" / "corpus").is_dir()), ROOT.parent / "shared" / "data")
CACHE = Path("/tmp/monitor-bench")
BUILD_VERSION = 2
SPAN_SECONDS = 730 * 86400
ENTITY = "bench_topic"
HARD_SHARE = 0.01


def base_texts() -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """(general, hard cases): (title, text, outlet) of the real texts the articles are made of."""
    def read(name: str) -> list[tuple[str, str, str]]:
        rows = [json.loads(x) for x in (DATA / name).open(encoding="utf-8")]
        return [(r["title"], r["text"], r.get("source") or "ANT") for r in rows]
    if (DATA / "ant-multisource-v2.1-sample.jsonl").exists():
        general = read("ant-multisource-v2.1-sample.jsonl") + read("ant-jawharafm-v1.1-sample.jsonl")
        return general, read("ant-hard-cases-libya-russia-wagner.jsonl")
    rows = []
    for name in ("labelled.jsonl", "labelled_dev.jsonl", "labelled_test.jsonl"):
        rows += [json.loads(x) for x in (ROOT / "tests" / "data" / name).open(encoding="utf-8")]
    return [(r.get("title", ""), r.get("text", ""), "labelled") for r in rows], []


def surnames(n: int, rng: random.Random) -> list[str]:
    """Made-up Russian-looking surnames (زاغوطيروف): words no corpus text contains."""
    cons, vows = "بتجدرزسشطظغفقكلمنه", "اوي"
    out: set[str] = set()
    while len(out) < n:
        out.add("".join(rng.choice(cons) + rng.choice(vows) for _ in range(3)) + "وف")
    return sorted(out)


def db_path(n: int, text_chars: int) -> Path:
    return CACHE / f"search-{n}-{text_chars}-v{BUILD_VERSION}-{INDEX_FORMAT[2:10]}.db"


def build_store(n: int, text_chars: int = 0, *, quiet: bool = False) -> tuple[Path, dict]:
    """The cached benchmark store of ``n`` articles (built when absent) and what is in it."""
    path = db_path(n, text_chars)
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        return path, json.loads(meta_path.read_text())
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".building")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    started = time.perf_counter()
    open_database(tmp).close()                         # the real schema, every migration
    conn = sqlite3.connect(tmp, isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    rng = random.Random(16)
    general, hard = base_texts()
    names = surnames(max(10, n // 20), rng)
    cache: dict[str, list[str]] = {}

    def toks(words: list[str]) -> list[str]:
        out: list[str] = []
        for w in words:
            t = cache.get(w)
            if t is None:
                t = cache[w] = field_tokens(w)
            out += t
        return out

    prepared = []
    for title, text, outlet in general + hard:
        if text_chars:
            text = text[:text_chars]
        prepared.append((title.split(), text.split(), outlet))
    n_general = len(general)
    topic = set(rng.sample(range(n_general), max(1, n_general // 10)))
    now = time.time()
    name_count: dict[str, int] = {}
    conn.execute("BEGIN")
    conn.execute("INSERT INTO feeds(name, url, created_at) VALUES ('bench', 'https://bench.example/', 0)")
    batch_a, batch_s, batch_m = [], [], []
    samples = []
    for i in range(1, n + 1):
        k = (n_general + rng.randrange(len(hard))) if hard and rng.random() < HARD_SHARE \
            else rng.randrange(n_general)
        title_w, body_w, outlet = prepared[k]
        body = list(body_w)
        q = len(body) // 4
        head = body[:q]
        rng.shuffle(head)
        body[:q] = head
        name = names[rng.randrange(len(names))]
        name_count[name] = name_count.get(name, 0) + 1
        body.insert(rng.randrange(len(body) + 1), name)
        title, text = " ".join(title_w), " ".join(body)
        seen = now - SPAN_SECONDS * (n - i) / n
        batch_a.append((i, f"b{i}", f"https://bench.example/{i}", title, text, seen,
                        seen - 3600, seen, outlet))
        tt, bt = toks(title_w), toks(body)
        batch_s.append((i, " ".join(tt), " ".join(bt), skeleton_tokens(tt), skeleton_tokens(bt)))
        if k in topic:
            batch_m.append((ENTITY, i, outlet, seen))
        if i % 4999 == 0:
            samples.append((batch_s[-1], title, text))
        if len(batch_a) >= 20000 or i == n:
            conn.executemany(
                "INSERT INTO articles(id, identity, canonical_url, feed_id, title, text, "
                "first_seen_at, published_at, fetched_at, outlet, extraction_status) "
                "VALUES (?,?,?,1,?,?,?,?,?,?,'extracted')", batch_a)
            conn.executemany("INSERT INTO article_search(rowid, title, body, title_skel, "
                             "body_skel) VALUES (?,?,?,?,?)", batch_s)
            conn.executemany("INSERT INTO mentions(entity, article_id, outlet, at) "
                             "VALUES (?,?,?,?)", batch_m)
            batch_a, batch_s, batch_m = [], [], []
            if not quiet:
                print(f"  build: {i:,}/{n:,} articles ({time.perf_counter() - started:.0f} s)",
                      file=sys.stderr, flush=True)
    # The shortcut above (tokens per word) must give what the store's own indexing gives.
    for (art_id, *cols), title, text in samples:
        f = index_fields(title, text)
        assert tuple(cols) == (f.title, f.body, f.title_skel, f.body_skel), art_id
    conn.execute("UPDATE search_backfill SET done = ?, upto = ?, format = ?",
                 (n, n, INDEX_FORMAT))
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    rare = sorted((c, w) for w, c in name_count.items() if c >= 10)
    meta = {"articles": n, "text_chars": text_chars, "rare_name": rare[len(rare) // 2][1],
            "build_seconds": round(time.perf_counter() - started, 1),
            "bytes": tmp.stat().st_size, "hard_share": HARD_SHARE if hard else 0,
            "corpus": "ANT samples" if hard else "tests/data labelled"}
    tmp.rename(path)
    meta_path.write_text(json.dumps(meta, ensure_ascii=False))
    return path, meta


def queries(meta: dict) -> list[tuple[str, str, dict]]:
    """(label, query, options) of the typical queries."""
    rare = meta["rare_name"]
    return [("rare name", rare, {}),
            ("common word", "الحكومة", {}),
            ("two words", "روسيا ليبيا", {}),
            ("phrase", '"الأمم المتحدة"', {}),
            ("common word --since 30d", "الحكومة", {"since": 30 * 86400}),
            ("rare name --entity", rare, {"entity": ENTITY}),
            ("two words --entity", "روسيا ليبيا", {"entity": ENTITY})]


def _like(conn: sqlite3.Connection, query: str) -> float:
    """Seconds of a LIKE scan for the raw words (a phrase as one string)."""
    parts = [p for i, p in enumerate(query.split('"')) for p in ([p] if i % 2 else p.split()) if p]
    cond = " AND ".join("(title LIKE ? OR text LIKE ?)" for _ in parts)
    args = [x for p in parts for x in (f"%{p}%", f"%{p}%")]
    started = time.perf_counter()
    conn.execute(f"SELECT COUNT(*) FROM articles WHERE {cond}", args).fetchone()
    return time.perf_counter() - started


def _python_scan(conn: sqlite3.Connection, query: str, sample: int) -> float:
    """Seconds per article of normalising and searching in Python (what the index replaces)."""
    from monitor.search.highlight import verify
    from monitor.search.query import parse_query

    q = parse_query(query)
    rows = conn.execute("SELECT title, text FROM articles ORDER BY id DESC LIMIT ?",
                        (sample,)).fetchall()
    started = time.perf_counter()
    for title, text in rows:
        verify(q, " ".join(field_tokens(title)), " ".join(field_tokens(text)))
    return (time.perf_counter() - started) / max(1, len(rows))


def run(articles: int = 1_000_000, text_chars: int = 0, rounds: int = 5,
        sample: int = 5000) -> list[Row]:
    """Build (or reuse) the store and time the queries; one row per query."""
    from monitor.search.engine import run_search
    from monitor.search.query import parse_query

    path, meta = build_store(articles, text_chars)
    db = open_database(path)
    raw = sqlite3.connect(path)
    rows: list[Row] = []
    now = time.time()
    try:
        for label, text, opts in queries(meta):
            q = parse_query(text)
            since = now - opts["since"] if "since" in opts else None
            found = run_search(db, q, since=since, entity=opts.get("entity"), now=now)
            times = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                run_search(db, q, since=since, entity=opts.get("entity"), now=now)
                times.append((time.perf_counter() - t0) * 1000)
            ms = median(times)
            like_ms = _like(raw, text) * 1000 if not opts else None
            per_row = _python_scan(raw, text, sample) if not opts else None
            py_ms = per_row * articles * 1000 if per_row is not None else None
            base = like_ms
            rows.append(Row("search", f"{label} ({text})", ms, "ms",
                            "LIKE scan" if base is not None else "—", base,
                            base / ms if base else None, "< 100 ms at 1,000,000",
                            ms < 100 if articles >= 1_000_000 else None,
                            f"{len(found.results)} shown of {found.candidates}"
                            f"{'+' if found.window_full else ''} matched; first run "
                            f"{found.seconds * 1000:.0f} ms"
                            + (f"; Python normalise-and-search {py_ms / 1000:,.1f} s "
                               f"(scaled from {sample:,} rows)" if py_ms else "")))
    finally:
        raw.close()
        db.close()
    print(f"store: {meta['articles']:,} articles, {meta['bytes'] / 1e9:.2f} GB, built in "
          f"{meta['build_seconds']} s ({meta['corpus']}; text cut at "
          f"{meta['text_chars'] or 'full length'})")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=1_000_000)
    ap.add_argument("--text-chars", type=int, default=0, help="cut texts (0: full length)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--sample", type=int, default=5000,
                    help="rows of the Python normalise-and-search baseline")
    ap.add_argument("--json", help="write the rows here")
    args = ap.parse_args(argv)
    rows = run(args.articles, args.text_chars, args.rounds, args.sample)
    print_rows(rows)
    dump(rows, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
