"""``monitor feeds import`` and ``export`` as a user runs them: ``monitor.cli.main`` on real files."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from monitor.cli import main
from monitor.config import load_settings

pytestmark = pytest.mark.usefixtures("cli_env")

FEEDS_OPML = Path(__file__).resolve().parent / "data" / "opml" / "feeds.opml"
CONFIG = """\
# production settings
fetch:
  max_redirects: 3   # keep
feeds:
  - {name: almarsad, url: "https://almarsad.co/feed/", tags: [libya]}   # already in the OPML
"""



@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(CONFIG)
    return path


def test_import_prints_what_it_added_and_skipped(config, capsys):
    assert main(["feeds", "import", str(FEEDS_OPML)]) == 0
    out = capsys.readouterr().out
    assert f"{FEEDS_OPML} → monitor.yaml" in out
    assert "added (9):" in out and "+ alwasat  https://alwasat.ly/rss" in out
    assert "- almarsad: already configured as 'almarsad'" in out
    assert "outlines not imported (1):" in out and "feeds.opml:24: outline 'TASS podcast'" in out
    text = config.read_text()
    assert text.startswith(CONFIG.rstrip("\n")) and "# keep" in text
    assert "  # imported from feeds.opml\n" in text
    names = [f.name for f in load_settings(config, env={}).feeds]
    assert names[0] == "almarsad" and "alwasat" in names and len(names) == 10
    # A second import finds nothing new and leaves the file alone.
    assert main(["feeds", "import", str(FEEDS_OPML)]) == 0
    assert "nothing new: the file is unchanged" in capsys.readouterr().out
    assert config.read_text() == text


def test_dry_run_writes_nothing(config, tmp_path, capsys):
    assert main(["feeds", "import", str(FEEDS_OPML), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "added (9):" in out and out.rstrip().endswith("dry run: nothing written")
    assert config.read_text() == CONFIG and sorted(p.name for p in tmp_path.iterdir()) == [
        "monitor.yaml"]


@pytest.mark.parametrize("argv", [
    pytest.param(["--config", "{cfg}", "feeds", "import", "{opml}"], id="top-level-config"),
    pytest.param(["feeds", "import", "{opml}", "--config", "{cfg}"], id="subcommand-config"),
])
def test_config_flag_either_place_and_a_missing_file_is_created(tmp_path, capsys, argv):
    target = tmp_path / "conf" / "new.yaml"
    args = [a.format(cfg=target, opml=FEEDS_OPML) for a in argv]
    assert main(args) == 0
    out = capsys.readouterr().out
    shipped = len(load_settings(None, env={}).feeds)
    assert "(new file)" in out and f"{shipped} shipped default feeds" in out
    assert len(load_settings(target, env={}).feeds) == shipped + 7   # 3 of the OPML are defaults


def test_malformed_opml_exits_2_naming_file_and_line(config, tmp_path, capsys):
    bad = tmp_path / "broken.opml"
    bad.write_text('<?xml version="1.0"?>\n<opml version="2.0">\n<body>\n'
                   '<outline text="a" xmlUrl="https://a.example/rss">\n</opml>\n')
    assert main(["feeds", "import", str(bad)]) == 2
    assert f"error: {bad}:5: not well-formed XML" in capsys.readouterr().err
    assert config.read_text() == CONFIG


@pytest.mark.parametrize("content,message", [
    pytest.param('<rss version="2.0"><channel/></rss>', "not an OPML file", id="not-opml"),
    pytest.param('<opml version="2.0"><body><outline text="x"/></body></opml>', "no feeds found",
                 id="no-feeds"),
    pytest.param(None, "cannot read", id="missing"),
])
def test_bad_input_exits_2(config, tmp_path, capsys, content, message):
    path = tmp_path / "in.opml"
    if content is not None:
        path.write_text(content)
    assert main(["feeds", "import", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}") and message in err
    assert config.read_text() == CONFIG


def test_an_invalid_config_exits_2_before_importing(tmp_path, capsys):
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text("poll:\n  intervall: 5\n")
    assert main(["feeds", "import", str(FEEDS_OPML)]) == 2
    assert "monitor.yaml:2: poll.intervall: unknown key" in capsys.readouterr().err
    assert cfg.read_text() == "poll:\n  intervall: 5\n"


def test_export_to_stdout_and_to_a_file_round_trips(config, tmp_path, capsys):
    assert main(["feeds", "export"]) == 0
    root = etree.fromstring(capsys.readouterr().out.encode())
    assert [o.get("xmlUrl") for o in root.iter("outline") if o.get("xmlUrl")] == [
        "https://almarsad.co/feed/"]
    assert main(["--config", str(config), "feeds", "import", str(FEEDS_OPML)]) == 0
    out = tmp_path / "out.opml"
    assert main(["feeds", "export", "--output", str(out)]) == 0
    # Imported into a config with an empty feeds: list, the export gives back every source.
    fresh = tmp_path / "fresh.yaml"
    fresh.write_text("feeds: []\n")
    assert main(["feeds", "import", str(out), "--config", str(fresh)]) == 0
    assert (sorted(load_settings(fresh, env={}).feeds, key=lambda f: f.name)
            == sorted(load_settings(config, env={}).feeds, key=lambda f: f.name))


def test_plain_feeds_still_shows_health(capsys):
    assert main(["feeds"]) == 1       # as before: no state database yet
    assert "no state database at state/monitor.db yet" in capsys.readouterr().err
