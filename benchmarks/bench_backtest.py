"""``monitor backtest`` with the search index: a typical one-rule edit on N stored articles,
re-scoring only the articles it can change, against the full re-score, on 2 workers.

    python -m benchmarks bench_backtest [--articles 1000000] [--baseline-articles 50000]

The store is bench_search's (cached under /tmp/monitor-bench; built on first use). The edit adds
one spelling to the Wagner entity (``مرتزقة فاغنر``), the kind of edit an analyst makes after a
missed alert. Timed: the whole backtest as ``monitor backtest`` runs it (diff of the packs, the
index query, streaming the candidates, scoring with both packs in 2 worker processes). The full
re-score is measured in the same run on ``--baseline-articles`` of the stored articles (0: all of
them) and scaled to N: re-scoring is linear in the articles, and a full 1,000,000-article run
takes the better part of an hour on 2 cores.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_search import build_store  # noqa: E402
from benchmarks.common import Row, dump, print_rows  # noqa: E402
from monitor.match.backtest import run_backtest  # noqa: E402
from monitor.match.candidates import select_articles  # noqa: E402
from monitor.match.rules import load_rules  # noqa: E402
from monitor.store import corpus  # noqa: E402

RULES = ROOT / "rules"
EDIT = ("forces.yaml", "aliases: [فاغنر,", "aliases: [فاغنر, مرتزقة فاغنر,")


def edited_rules(tmp: Path) -> Path:
    """A copy of the rule pack with the one-alias edit."""
    out = tmp / "edited"
    shutil.copytree(RULES, out)
    file, old, new = EDIT
    text = (out / file).read_text(encoding="utf-8")
    assert old in text
    (out / file).write_text(text.replace(old, new, 1), encoding="utf-8")
    return out


def _first(db_path: Path, n: int) -> object:
    """The first ``n`` stored articles in backtest chunks (the baseline's sample)."""
    left = n
    for chunk in corpus.iter_texts(db_path, 0, 250):
        if left <= 0:
            return
        yield chunk[:left]
        left -= len(chunk)


def run(articles: int = 1_000_000, baseline_articles: int = 50_000, workers: int = 2) -> list[Row]:
    """Build (or reuse) the store, time both backtests; one row."""
    path, _meta = build_store(articles)
    with tempfile.TemporaryDirectory() as tmp:
        edited = edited_rules(Path(tmp))
        started = time.perf_counter()
        sel = select_articles(path, 0, load_rules(RULES), load_rules(edited))
        selected = time.perf_counter() - started
        assert sel.candidates_only, sel.note
        report = run_backtest(sel.chunks, sel.total, RULES, edited, workers=workers,
                              progress=None, rescored=sel.rescored, note=sel.note)
        with_index = time.perf_counter() - started
        sample = articles if baseline_articles <= 0 else min(articles, baseline_articles)
        started = time.perf_counter()
        run_backtest(_first(path, sample), sample, RULES, edited, workers=workers,   # type: ignore[arg-type]
                     progress=None)
        full = (time.perf_counter() - started) * articles / sample
    scaled = "" if sample == articles else f" (measured on {sample:,}, scaled)"
    return [Row("backtest", f"one-alias edit on {articles:,} articles, {workers} workers",
                with_index, "s", f"full re-score{scaled}", full, full / with_index,
                "< 60 s at 1,000,000 on 2 cores",
                with_index < 60 if articles >= 1_000_000 and workers == 2 else None,
                f"{sel.rescored:,} of {sel.total:,} re-scored; index query and count "
                f"{selected:.1f} s; {len(report.newly_alerting)} newly alerting, "
                f"{len(report.stop_alerting)} stop")]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=1_000_000)
    ap.add_argument("--baseline-articles", type=int, default=50_000,
                    help="articles the full re-score is measured on (0: all)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", help="write the rows here")
    args = ap.parse_args(argv)
    rows = run(args.articles, args.baseline_articles, args.workers)
    print_rows(rows)
    dump(rows, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
