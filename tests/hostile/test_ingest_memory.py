"""The issue's bound, measured: `monitor once` with the default settings on a server full of
hostile feeds and pages; no process of ours (the CLI, its parser and extraction workers) goes
over 400 MB. Peak RSS comes from the kernel (``ru_maxrss`` of a wrapper's children), so a
worker that peaked and was replaced counts too."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

from tests.builders import PARAS, page, rss
from tests.hostile.test_ingest_entities import PROLOGS, hostile_feed
from tests.hostile.test_ingest_parsing import deep, many_attributes
from tests.servers.http import TestServer

LIMIT_MB = 400

WRAPPER = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=600)
print(json.dumps({"rc": done.returncode, "out": done.stdout, "err": done.stderr[-3000:],
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def _hostile_feeds(server: TestServer) -> dict[str, bytes]:
    big_items = rss([{"title": f"خبر {i}", "link": server.url(f"/n/{i}"), "guid": f"n{i}"}
                     for i in range(60_000)])[:4_900_000]
    entity = hostile_feed(PROLOGS["comment-gt-and-lt-in-value"], items=16).encode()
    return {
        "entities": entity,                                   # the 254 KB feed
        "entities-utf16": b"\xff\xfe" + entity.decode().replace("utf-8", "utf-16").encode("utf-16-le"),
        "deep": deep(),                                        # 654 MB in-process before
        "attributes": many_attributes(),                       # 184 s of CPU before
        "items": big_items,                                    # 60,000 items, cut mid-item
        "unclosed-titles": ('<rss version="2.0"><channel>' + "<title>x" * 500_000).encode(),
        "huge-title": rss([{"title": "عنوان " * 400_000, "link": server.url("/t"), "guid": "t"}]),
        "nul": b"\0" * 4_900_000,
        "gzip-bomb": gzip.compress(b"<rss>" + b" " * 300_000_000, 9),
    }


def test_no_process_over_400_mb_on_hostile_feeds_and_pages(server, tmp_path):
    feeds = _hostile_feeds(server)
    for name, body in feeds.items():
        headers = {"Content-Encoding": "gzip"} if name == "gzip-bomb" else None
        server.static(f"/{name}.xml", body, headers=headers)
    pages = {"nul": page("خبر", PARAS).replace("</p>", "\0</p>").encode(),
             "entities": ("<!DOCTYPE html [<!ENTITY e '" + "A" * 20_000 + "'>]>"
                          + page("خبر", PARAS).replace("<p>", "<p>" + "&e;" * 200)).encode(),
             "cp1256-mislabelled": page("خبر", PARAS, charset="utf-8").encode("cp1256", "replace")}
    for name, body in pages.items():
        server.static(f"/p/{name}.html", body, "text/html; charset=utf-8")
    server.static("/ok.xml", rss([{"title": f"صفحة {n}", "link": server.url(f"/p/{n}.html"),
                                   "guid": n} for n in pages]))
    lines = [f"fetch: {{allow_addresses: ['127.0.0.1:{server.port}']}}", "feeds:"]
    lines += [f"  - {{name: {n}, url: '{server.url(f'/{n}.xml')}'}}" for n in [*feeds, "ok"]]
    (tmp_path / "monitor.yaml").write_text("\n".join(lines) + "\n")   # defaults otherwise
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    done = subprocess.run([sys.executable, "-c", WRAPPER, sys.executable, "-m", "monitor", "once"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    report = json.loads(done.stdout)
    assert report["rc"] == 0, report["err"]
    assert "feeds: " in report["out"] and "Traceback" not in report["err"], report["err"][-3000:]
    status = {ln.split()[0]: ln.split()[1] for ln in report["out"].splitlines()
              if ln.split() and ln.split()[0] in [*feeds, "ok"]}
    # The big but harmless feeds are read; the ones beyond the parser's limits fail alone.
    assert {n for n, s in status.items() if s == "ok"} >= {
        "entities", "entities-utf16", "items", "huge-title", "ok"}, report["out"]
    assert {status[n] for n in ("deep", "attributes", "nul", "gzip-bomb")} == {"failed"}
    ok_line = next(ln for ln in report["out"].splitlines() if ln.startswith("ok "))
    assert " 3 " in ok_line                          # the three pages' articles
    peak_mb = report["maxrss_kb"] / 1024
    print(f"peak RSS of monitor once and its workers: {peak_mb:.0f} MB")
    assert peak_mb < LIMIT_MB, f"peak RSS {peak_mb:.0f} MB"
