"""Run every benchmark and print one table (and JSON): ``python -m benchmarks [--quick]``.

    python -m benchmarks [--quick] [--only 1,3] [--json results.json]
    python -m benchmarks bench_search --articles 20000     (one benchmark, its own options)

1 scoring throughput, 2 cold-start pipeline, 3 steady-state polling (304), 4 alert latency,
5 memory, 6 archive search, 7 backtest with the search index, 8 replicas on PostgreSQL against
SQLite (needs PostgreSQL installed, skipped otherwise; about 15 minutes at full size, not in the
default ``--only``). Each figure is measured against a baseline in the same run. ``--quick`` uses
smaller sizes (about two minutes, plus the first build of the search stores); the full sizes are
the ones of the issue (6 and 7 build a 1,000,000-article store once, cached under
/tmp/monitor-bench).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import Row  # noqa: E402

FULL = {1: {"docs": 600, "naive_docs": 60, "rounds": 3},
        2: {"feeds": 200, "items": 50, "sample": 400},
        3: {"feeds": 1000, "cycles": 3},
        4: {"items": 12},
        5: {"feeds": 400, "items": 50},
        6: {"articles": 1_000_000},
        7: {"articles": 1_000_000},
        8: {"feeds": 10_000, "interval": 60.0, "intervals": 3}}
QUICK = {1: {"docs": 200, "naive_docs": 20, "rounds": 3},
         2: {"feeds": 30, "items": 50, "sample": 100},
         3: {"feeds": 1000, "cycles": 2},
         4: {"items": 6},
         5: {"feeds": 40, "items": 50},
         6: {"articles": 20_000},
         7: {"articles": 20_000, "baseline_articles": 5_000},
         8: {"feeds": 1000, "interval": 20.0, "intervals": 2, "cold_feeds": 10, "cold_items": 20}}


def bench(number: int, sizes: dict) -> list[Row]:
    if number == 1:
        from benchmarks import bench_score
        return bench_score.run(**sizes)
    if number == 2:
        from benchmarks import bench_pipeline
        return bench_pipeline.run(**sizes)
    if number == 3:
        from benchmarks import bench_polling
        return bench_polling.run(**sizes)
    if number == 4:
        from benchmarks import bench_latency
        return bench_latency.run(**sizes)
    if number == 6:
        from benchmarks import bench_search
        return bench_search.run(**sizes)
    if number == 7:
        from benchmarks import bench_backtest
        return bench_backtest.run(**sizes)
    if number == 8:
        from benchmarks import bench_replicas
        return bench_replicas.run(**sizes)
    from benchmarks import bench_memory
    return bench_memory.run(**sizes)


def run_module(name: str, argv: list[str]) -> int:
    """``python -m benchmarks bench_NAME ...``: that benchmark's own command line."""
    import importlib

    try:
        module = importlib.import_module(f"benchmarks.{name}")
    except ModuleNotFoundError:
        print(f"no benchmark named {name!r} in benchmarks/", file=sys.stderr)
        return 2
    return int(module.main(argv) or 0)


def machine() -> dict:
    mem = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]
    return {"cpus": os.cpu_count(), "ram_gb": round(int(mem) / 1024 / 1024, 1),
            "python": platform.python_version(), "platform": platform.platform(),
            "date": time.strftime("%Y-%m-%d")}


def table(rows: list[Row]) -> str:
    head = "| benchmark | figure | value | baseline | ratio | target | result |"
    out = [head, "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        base = "—" if r.baseline_value is None else f"{r.baseline}: {r.baseline_value:,.2f}"
        ratio = "—" if r.ratio is None else f"{r.ratio:,.2f}×"
        result = {True: "met", False: "**not met**", None: "—"}[r.ok]
        out.append(f"| {r.benchmark} | {r.figure} | {r.value:,.2f} {r.unit} | {base} | {ratio} "
                   f"| {r.target} | {result} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="1,2,3,4,5", help="comma-separated benchmark numbers")
    ap.add_argument("--json", help="write results here")
    args = ap.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    rows: list[Row] = []
    timings = {}
    for number in (int(x) for x in args.only.split(",")):
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        got = bench(number, sizes[number])
        timings[number] = {"seconds": round(time.perf_counter() - t0, 1),
                           "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2)}
        for r in got:
            print(f"[{r.benchmark}] {r.figure}: {r.value:,.3f} {r.unit}"
                  + (f" — {r.note}" if r.note else ""), flush=True)
        rows.extend(got)
    print()
    print(table(rows))
    info = machine()
    print(f"\n{info['cpus']} vCPU, {info['ram_gb']} GB RAM, Python {info['python']}, "
          f"{info['date']}; {'quick' if args.quick else 'full'} run; load averages and "
          f"durations: {timings}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"machine": info, "quick": args.quick, "timings": timings,
             "rows": [r.as_dict() for r in rows]}, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
