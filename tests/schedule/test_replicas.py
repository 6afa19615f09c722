"""Three real daemon replicas on one PostgreSQL state, SIGKILLed at random moments (always one
left alive) and restarted: every matching article alerted once (duplicates only in the
send/confirm window), every feed kept being polled, near-duplicates seen by two replicas in one
story, surges announced once, one leader at a time."""

from __future__ import annotations

import random
import re
import subprocess
import sys
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.builders import PARAS, page, rss
from tests.conftest import REPO
from tests.schedule.daemon import Daemon, wait_for, write_config
from tests.servers.http import TestServer
from tests.servers.telegram import FakeTelegram

TOKEN = "123456789:AAFakeTokenForTests_abcdefghijklmnop"
FEEDS = 4
ROUNDS = 4            # new items on every feed, once per round
KILLS_PER_ROUND = 2
WORDS = ("الاقتصاد الزراعة المياه الكهرباء النقل الصحة التعليم الموانئ الطرق الشباب الثقافة "
         "الرياضة الإسكان البلديات الجمارك الضرائب المصارف الاتصالات السياحة الصناعة").split()


def rows(url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [tuple(r) for r in conn.execute(sql, args or None).fetchall()]


def text_of(seed: int) -> list[str]:
    """One relevant article of its own: the seed sentence, then filler no other article has."""
    rng = random.Random(seed)
    filler = [" ".join(rng.choice(WORDS) + f" {rng.randint(100, 999)}" for _ in range(40))
              for _ in range(3)]
    return [PARAS[0].replace("زيارة جديدة", f"زيارة رقم {seed}"), *filler]


class Feeds:
    """FEEDS local feeds; each round adds one distinct article to each, and the same story (a
    near-duplicate page) to feeds 0 and 1 at once."""

    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.items: dict[int, list[dict[str, str]]] = {f: [] for f in range(FEEDS)}
        self.pages = 0

    def add_round(self, r: int) -> None:
        for f in range(FEEDS):
            self._publish(f, f"r{r}f{f}", text_of(r * 100 + f))
        twin = text_of(10_000 + r)
        self._publish(0, f"dup{r}a", twin)
        self._publish(1, f"dup{r}b", [*twin, "وأكدت وكالات الأنباء الخبر في وقت لاحق."])
        for f in range(FEEDS):
            self.server.static(f"/f{f}.xml", rss(self.items[f]))

    def _publish(self, feed: int, slug: str, paragraphs: list[str]) -> None:
        title = paragraphs[0][:60]
        self.server.static(f"/a/{slug}.html", page(title, paragraphs, site=f"outlet{feed}").encode(),
                           "text/html; charset=utf-8")
        self.items[feed].insert(0, {"title": title, "link": self.server.url(f"/a/{slug}.html"),
                                    "guid": slug})
        self.pages += 1


def config(tmp_path, server: TestServer, tg: FakeTelegram) -> None:
    write_config(tmp_path, {
        "rules_path": str(REPO / "rules"),
        "poll": {"interval_seconds": 1, "min_interval_seconds": 1, "max_interval_seconds": 2,
                 "jitter_seconds": 0, "lease_seconds": 4},
        "fetch": {"allow_addresses": [f"127.0.0.1:{server.port}"]},
        "extract": {"workers": 0},
        "alerts": {"sink": "telegram", "api_base_url": tg.base_url, "digest_threshold": 1000,
                   "per_chat_per_minute": 1000, "per_chat_window_seconds": 1,
                   "retry_base_seconds": 0.2,
                   "destinations": {"default": {"chat_id": "@libya_watch"}}},
        "ops": {"notices": False, "leader_check_seconds": 0.5},
        "surges": {"min_history_hours": 0, "min_count": 3, "min_outlets": 2, "factor": 1,
                   "check_seconds": 1, "ignore_entities": []},
        "feeds": [{"name": f"f{f}", "url": server.url(f"/f{f}.xml")}
                  for f in range(FEEDS)],
    })


def test_replicas_survive_random_sigkills(server, tmp_path, pg_url):
    feeds = Feeds(server)
    feeds.add_round(0)
    rng = random.Random(20261202)
    with FakeTelegram() as tg:
        tg.latency = 0.1
        config(tmp_path, server, tg)
        env = {"TELEGRAM_BOT_TOKEN": TOKEN, "PTB_TIMEDELTA": "1", "MONITOR_DATABASE": pg_url}
        names = ["r1", "r2", "r3"]
        replicas = {n: Daemon(tmp_path, {**env, "MONITOR_OPS__REPLICA_NAME": n}).start()
                    for n in names}
        in_window: Counter[int] = Counter()
        kills = 0
        try:
            wait_for(lambda: all("daemon started" in d.text() for d in replicas.values()), 60,
                     "three replicas up")
            for r in range(1, ROUNDS + 1):
                for _ in range(KILLS_PER_ROUND):
                    time.sleep(rng.uniform(0.5, 2.0))
                    victim = rng.choice(names)          # the others stay alive
                    replicas[victim].kill()
                    kills += 1
                    for (article_id,) in rows(pg_url, "SELECT article_id FROM outbox WHERE "
                                                      "status = 'sending'"):
                        in_window[article_id] += 1
                    time.sleep(rng.uniform(0.2, 1.0))
                    replicas[victim] = Daemon(
                        tmp_path, {**env, "MONITOR_OPS__REPLICA_NAME": victim}).start()
                feeds.add_round(r)

            def done() -> bool:
                total, pending = rows(pg_url, "SELECT COUNT(*), SUM(CASE WHEN "
                                              "extraction_status = 'pending' THEN 1 ELSE 0 END) "
                                              "FROM articles")[0]
                unsent = rows(pg_url, "SELECT COUNT(*) FROM outbox WHERE status != 'sent' "
                                      "AND kind = 'alert'")[0][0]
                return total == feeds.pages and not pending and not unsent
            wait_for(done, 120, "every article processed and alerted")
            wait_for(lambda: rows(pg_url, "SELECT COUNT(*) FROM outbox WHERE idempotency_key "
                                          "LIKE 'surge:%%' AND status = 'sent'")[0][0], 60,
                     "a surge announced")
            leaders = wait_for(lambda: [n for n, d in replicas.items()
                                        if (h := d.healthz()) and h[1]["replica"]["leader"]],
                               20, "a leader")
            assert len(leaders) == 1, leaders
            status = subprocess.run([sys.executable, "-m", "monitor", "status"], cwd=tmp_path,
                                    env={**replicas["r1"].env}, capture_output=True, text=True,
                                    timeout=60)
            assert status.returncode == 0, status.stderr
            roles = [line.split()[1] for line in status.stdout.splitlines()
                     if line.split()[:1] and line.split()[0] in names]
            assert sorted(roles) == ["follower", "follower", "leader"], status.stdout
            assert urlsplit(pg_url).password not in status.stdout + status.stderr
            for daemon in replicas.values():
                assert daemon.terminate() == 0
        finally:
            for daemon in replicas.values():
                if daemon.proc.poll() is None:
                    daemon.kill()

    # Every feed kept being polled: every item of every round was recorded.
    assert rows(pg_url, "SELECT COUNT(*) FROM articles")[0][0] == feeds.pages
    alerted = {r[0] for r in rows(pg_url, "SELECT id FROM articles WHERE alert = 1")}
    assert len(alerted) >= feeds.pages - ROUNDS - 1     # near-duplicates may join their story
    per_article = Counter(r[0] for r in rows(pg_url, "SELECT article_id FROM outbox "
                                                     "WHERE kind = 'alert'"))
    assert set(per_article.values()) == {1}, "an article was queued twice"

    # Sent once; more only where a kill fell between Telegram's receipt and our confirmation.
    url_to_id = {u: i for i, u in rows(pg_url, "SELECT id, canonical_url FROM articles")}
    # An alert's first line is its linked title (surge messages list articles further down).
    received = Counter(url_to_id[m.group(1)] for msg in tg.messages
                       if (m := re.match(r'[^<\n]*<a href="([^"]+/a/[^"]+\.html)"', msg["text"]))
                       and m.group(1) in url_to_id)
    alert_articles = set(per_article)
    assert alert_articles <= set(received), "a queued alert never reached Telegram"
    for article_id, n in received.items():
        assert n - 1 <= in_window[article_id], f"article {article_id} sent {n} times"

    # The near-duplicates of each round, seen by two replicas, are one story.
    for r in range(ROUNDS + 1):
        stories = rows(pg_url, "SELECT DISTINCT story_id FROM articles WHERE canonical_url "
                               "LIKE %s OR canonical_url LIKE %s", f"%/dup{r}a.html",
                       f"%/dup{r}b.html")
        assert len(stories) == 1, f"round {r}: the same story split in {len(stories)}"

    # Surges: one per entity, announced once.
    surges = Counter(r[0] for r in rows(pg_url, "SELECT entity FROM surges"))
    assert surges and set(surges.values()) == {1}, surges
    keys = Counter(r[0].rsplit(":", 1)[0] for r in rows(
        pg_url, "SELECT idempotency_key FROM outbox WHERE idempotency_key LIKE 'surge:%%'"))
    assert set(keys) == {f"surge:{e}" for e in surges} and set(keys.values()) == {1}, keys
    announced = Counter(m["text"].split("\n")[0] for m in tg.messages if "surge" in
                        m["text"].lower() or "ارتفاع" in m["text"])
    assert all(n == 1 for n in announced.values()), announced
    print(f"kills={kills} in-window={sum(in_window.values())} messages={len(tg.messages)} "
          f"surges={dict(surges)}")
    assert kills == ROUNDS * KILLS_PER_ROUND


@pytest.fixture
def server():
    with TestServer() as srv:
        yield srv
