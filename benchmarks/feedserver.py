"""A fast local feed and page server for the benchmarks (run as its own process).

    python benchmarks/feedserver.py --feeds 200 --items 50 [--page large|small]

Prints its port on the first line of stdout. ``/feed/<i>.xml`` is an RSS feed of ``items``
items with an ETag (``If-None-Match`` → 304); ``/a/<i>/<j>.html`` is an article page: a real
Arabic article from the corpus (or the labelled set) wrapped in the boilerplate real news sites
carry (navigation, scripts, related links, footer); every ``--match-every``-th page reports
Russian military activity in Libya so alerts get queued. Pages are assembled from pre-encoded
pieces, so serving costs little CPU.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.builders import PARAS  # noqa: E402

CORPUS = REPO.parent / "shared" / "data" / "corpus" / "ant-multisource-v2.1-sample.jsonl"
LABELLED = REPO / "tests" / "data" / "labelled.jsonl"


def articles(limit: int = 400) -> list[tuple[str, list[str]]]:
    path = CORPUS if CORPUS.exists() else LABELLED
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            paras = [p.strip() for p in re.split(r"\n+", row.get("text", "")) if p.strip()]
            if paras:
                out.append((row.get("title") or paras[0][:60], paras))
            if len(out) >= limit:
                break
    return out


def boilerplate(large: bool) -> tuple[bytes, bytes]:
    nav = "".join(f'<li class="menu-item"><a href="/section/{i}">قسم الأخبار رقم {i}</a></li>'
                  for i in range(60 if large else 12))
    script = ("<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push("
              "arguments);}" + "var cfg={ads:true,slots:['top','side','bottom']};" * (120 if large
                                                                                        else 2)
              + "</script>")
    related = "".join(f'<li><a href="/related/{i}"><img src="/img/{i}.jpg" alt="صورة">'
                      f"خبر ذو صلة رقم {i} عن الطقس والرياضة والاقتصاد</a></li>"
                      for i in range(30 if large else 8))
    head = ('<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width">'
            '<link rel="stylesheet" href="/static/site.css">' + script + "</head><body>"
            f'<header><div class="logo">موقع الأخبار</div><nav><ul>{nav}</ul></nav></header>'
            '<main><article class="post">')
    tail = (f'</article></main><aside class="sidebar"><h3>الأكثر قراءة</h3><ul>{related}</ul>'
            '</aside><footer><p>جميع الحقوق محفوظة لموقع الأخبار ٢٠٢٦</p>'
            f'<ul class="links">{nav}</ul></footer>{script}</body></html>')
    return head.encode(), tail.encode()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--page", choices=("large", "small"), default="large")
    ap.add_argument("--match-every", type=int, default=50)
    args = ap.parse_args()
    arts = articles()
    head, tail = boilerplate(args.page == "large")
    bodies = []
    for title, paras in arts:
        body = (f"<h1>{escape(title)}</h1><time datetime=\"2026-11-20T10:15:00+02:00\">"
                "20 نوفمبر 2026</time>" + "".join(f"<p>{escape(p)}</p>" for p in paras))
        bodies.append((title, body.encode()))
    match_body = ("<h1>يفكوروف في بنغازي</h1>" + "".join(f"<p>{escape(p)}</p>" for p in PARAS)
                  ).encode()
    date = formatdate(1763630100, usegmt=True)

    def page(i: int, j: int) -> bytes:
        n = i * args.items + j
        if args.match_every and n % args.match_every == 7:
            return head + match_body + tail
        return head + bodies[n % len(bodies)][1] + tail

    def title(i: int, j: int) -> str:
        n = i * args.items + j
        if args.match_every and n % args.match_every == 7:
            return "يفكوروف في بنغازي"
        return bodies[n % len(bodies)][0]

    feeds: dict[int, bytes] = {}

    def feed(i: int, base: str) -> bytes:
        if i not in feeds:
            items = "".join(
                f"<item><title>{escape(title(i, j))}</title><link>{base}/a/{i}/{j}.html</link>"
                f'<guid isPermaLink="false">bench-{i}-{j}</guid>'
                f"<description>{escape(title(i, j))}</description><pubDate>{date}</pubDate>"
                "</item>" for j in range(args.items))
            feeds[i] = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                        f"<title>قناة {i}</title><link>{base}/</link><description>اختبار"
                        f"</description>{items}</channel></rss>").encode()
        return feeds[i]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            parts = self.path.strip("/").split("/")
            try:
                if parts[0] == "feed":
                    i = int(parts[1].split(".")[0])
                    etag = f'"feed-{i}-v1"'
                    if self.headers.get("If-None-Match") == etag:
                        self._send(304, b"", None, {"ETag": etag})
                        return
                    base = f"http://{self.headers.get('Host')}"
                    self._send(200, feed(i, base), "application/rss+xml", {"ETag": etag})
                    return
                if parts[0] == "a":
                    self._send(200, page(int(parts[1]), int(parts[2].split(".")[0])),
                               "text/html; charset=utf-8")
                    return
            except (ValueError, IndexError):
                pass
            self._send(404, b"not found", "text/plain")

        def _send(self, status: int, body: bytes, ctype: str | None,
                  headers: dict[str, str] | None = None) -> None:
            self.send_response_only(status)
            if ctype:
                self.send_header("Content-Type", ctype)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def log_message(self, format: str, *a: object) -> None:  # noqa: A002
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 512

    httpd = Server(("127.0.0.1", 0), Handler)
    print(httpd.server_address[1], flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
