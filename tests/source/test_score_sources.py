"""``monitor score URL`` with the links analysts paste: a Google News link and a t.me post link,
read through the local fakes by the real command."""

from __future__ import annotations

from tests.builders import PARAS, page
from tests.conftest import REPO
from tests.servers.google_news import FakeGoogleNews
from tests.servers.http import TestServer
from tests.servers.telegram_preview import TelegramPreview
from tests.test_cli import monitor

POST = ("🔴 عاجل | رصد طائرتي شحن روسيتين تهبطان في قاعدة الجفرة\n"
        "مصادر: الطائرتان نقلتا عناصر من الفيلق الأفريقي الروسي إلى ليبيا")


def _env(*ports: int, google: str = "", telegram: str = "") -> dict[str, str]:
    env = {"MONITOR_FETCH__ALLOW_ADDRESSES": "[" + ", ".join(f"127.0.0.1:{p}" for p in ports) + "]",
           "MONITOR_RULES_PATH": str(REPO / "rules")}
    if google:
        env["MONITOR_SOURCES__GOOGLE_NEWS_BASE"] = google
    if telegram:
        env["MONITOR_SOURCES__TELEGRAM_BASE"] = telegram
    return env


def test_a_google_news_link_is_scored_on_the_publishers_page(tmp_path):
    with TestServer() as site, FakeGoogleNews() as gn:
        publisher = site.static("/news/1.html", page("يفكوروف في بنغازي", PARAS).encode(),
                                "text/html")
        env = _env(site.port, gn.port, google=gn.base)
        res = monitor("score", gn.new_link(publisher), gn.old_link(publisher), cwd=tmp_path,
                      env=env)
        assert res.returncode == 0, res.stderr
        blocks = res.stdout.split("== ")[1:]
        assert len(blocks) == 2 and all("ALERT" in b.splitlines()[1] for b in blocks)
        assert gn.count("batchexecute") == 1          # the old form needs no exchange

        gn.script("page", "no_signature")
        broken = monitor("score", gn.new_link(publisher), cwd=tmp_path, env=env)
        assert broken.returncode != 0
        assert "Google News link not resolved (format_changed)" in broken.stdout + broken.stderr


def test_a_telegram_post_link_is_scored_on_the_post(tmp_path):
    with TelegramPreview() as tg:
        channel = tg.channel("libya_now", "ليبيا الآن")
        hit = channel.post(POST)
        quiet = channel.post("الطقس غداً: أمطار متفرقة على الجبل الأخضر")
        env = _env(tg.port, telegram=tg.base)
        res = monitor("score", f"https://t.me/libya_now/{hit}", f"https://t.me/libya_now/{quiet}",
                      cwd=tmp_path, env=env)
        assert res.returncode == 0, res.stderr
        blocks = res.stdout.split("== ")[1:]
        assert "ALERT" in blocks[0].splitlines()[1] and "no alert" in blocks[1].splitlines()[1]

        missing = monitor("score", "https://t.me/libya_now/999", cwd=tmp_path, env=env)
        assert missing.returncode != 0
        assert "post 999 is not in the public preview of channel libya_now" in (
            missing.stdout + missing.stderr)
