"""Configuration: YAML + environment overrides, validation errors naming file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import google_news_url, load_settings, read_secret
from monitor.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_ship_real_arabic_feeds():
    settings = load_settings(None, env={})
    names = {f.name for f in settings.feeds}
    assert {"bbc-arabic", "rt-arabic", "almarsad"} <= names
    assert len(settings.feeds) >= 20
    gn = [f for f in settings.feeds if f.type == "google_news"]
    assert gn and all(f.feed_url.startswith("https://news.google.com/rss/search?q=") for f in gn)


def test_file_then_env_overrides(tmp_path):
    path = write(tmp_path, "fetch:\n  total_timeout: 30\n  max_body_bytes: 100000\n"
                           "feeds:\n  - name: a\n    url: https://example.org/rss\n")
    s = load_settings(path, env={"MONITOR_FETCH__TOTAL_TIMEOUT": "12",
                                 "MONITOR_FETCH__ALLOW_ADDRESSES": "[127.0.0.1, '10.0.0.0/8:8080']",
                                 "MONITOR_DATABASE": "/tmp/x.db"})
    assert s.fetch.total_timeout == 12 and s.fetch.max_body_bytes == 100000
    assert s.fetch.allow_addresses == ["127.0.0.1", "10.0.0.0/8:8080"]
    assert str(s.database) == "/tmp/x.db" and [f.name for f in s.feeds] == ["a"]


@pytest.mark.parametrize("text,line,key,reason", [
    pytest.param("fetch:\n  total_timout: 3\n", 2, "fetch.total_timout", "unknown key", id="typo"),
    pytest.param("poll:\n  interval_seconds: -5\n", 2, "poll.interval_seconds", "greater than 0",
                 id="negative"),
    pytest.param("feeds:\n  - name: a\n    url: https://x/\n  - name: b\n    url: ftp://y\n", 4,
                 "feeds.1", "url must be http(s)", id="bad-scheme"),
    pytest.param("feeds:\n  - name: a\n    url: https://x/\n  - name: a\n    url: https://y/\n", 1,
                 "feeds", "duplicate feed name", id="duplicate-feed"),
    pytest.param("feeds:\n  - name: g\n    type: google_news\n", 2, "feeds.0", "needs a 'query'",
                 id="gn-without-query"),
    pytest.param("fetch:\n  allow_addresses: [not-an-ip]\n", 2, "fetch.allow_addresses",
                 "not an IP", id="bad-allow"),
])
def test_bad_config_names_file_line_key_reason(tmp_path, text, line, key, reason):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    message = str(err.value)
    assert message.startswith(f"{path}:{line}: {key}")
    assert reason in message


def test_yaml_syntax_error_has_line(tmp_path):
    path = write(tmp_path, "fetch:\n  total_timeout: [1\npoll: {}\n")
    with pytest.raises(ConfigError, match=rf"{path}:3: invalid YAML"):
        load_settings(path, env={})


def test_env_error_names_the_variable():
    with pytest.raises(ConfigError, match="environment variable MONITOR_POLL__INTERVAL_SECONDS"):
        load_settings(None, env={"MONITOR_POLL__INTERVAL_SECONDS": "often"})


def test_process_switches_are_not_configuration_keys():
    # MONITOR_CONFIG names the file; it is not a key of it.
    settings = load_settings(None, env={"MONITOR_CONFIG": "monitor.yaml"})
    assert settings.poll.interval_seconds == 600


def test_secret_in_yaml_is_refused(tmp_path):
    path = write(tmp_path, "telegram:\n  token: '123456:ABCDEF'\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    assert "secrets must not be written" in str(err.value) and ":2: telegram.token" in str(err.value)
    assert "ABCDEF" not in str(err.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.yaml", env={})


def test_read_secret_from_env_or_file(tmp_path, monkeypatch):
    monkeypatch.delenv("X_TOKEN", raising=False)
    secret = tmp_path / "token"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("X_TOKEN_FILE", str(secret))
    assert read_secret("X_TOKEN") == "s3cret"
    monkeypatch.setenv("X_TOKEN", "direct")
    assert read_secret("X_TOKEN") == "direct"
    monkeypatch.delenv("X_TOKEN")
    monkeypatch.setenv("X_TOKEN_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="X_TOKEN_FILE"):
        read_secret("X_TOKEN")


def test_google_news_url_encodes_arabic_query():
    url = google_news_url("يفكوروف ليبيا", "SA")
    assert url.endswith("&hl=ar&gl=SA&ceid=SA:ar")
    assert "%D9%8A%D9%81%D9%83%D9%88%D8%B1%D9%88%D9%81+" in url
