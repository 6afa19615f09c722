"""The ``rules check`` and ``score`` subcommands, driven through argparse as the CLI will."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from monitor.match.commands import add_rules_parser, add_score_parser

RULES = Path(__file__).resolve().parents[2] / "rules"
ARTICLE = "يفكيروف في بنغازي\nوصل نائب وزير الدفاع الروسي يونس بك يفكيروف إلى بنغازي للقاء حفتر."


def run(argv: list[str], **extra: object) -> int:
    parser = argparse.ArgumentParser(prog="monitor")
    sub = parser.add_subparsers(dest="command")
    add_rules_parser(sub)
    add_score_parser(sub)
    args = parser.parse_args(argv)
    for key, value in extra.items():
        setattr(args, key, value)
    return args.func(args)


def test_rules_check_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["rules", "check", str(RULES)]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "entities" in out and "aliases" in out and "rules" in out


def test_rules_check_uses_the_rules_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["rules", "--rules", str(RULES), "check"]) == 0
    assert "OK" in capsys.readouterr().out


def test_rules_check_reports_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("entities:\n  - id: a\n    aliases: []\n", encoding="utf-8")
    assert run(["rules", "check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:3" in err and "no aliases" in err


def test_score_text_file_explains(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    article = tmp_path / "a.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    assert run(["score", "--rules", str(RULES), str(article)]) == 0
    out = capsys.readouterr().out
    assert "ALERT" in out and "threshold" in out and "«يفكيروف»" in out


def test_score_jsonl_contract(monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    lines = [{"id": "a", "title": "فاغنر في ليبيا", "text": "مرتزقة فاغنر في قاعدة الجفرة"},
             {"id": 2, "title": "", "text": "مباراة كرة قدم"}]
    stdin = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\nnot json\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert run(["score", "--jsonl", "--rules", str(RULES), "-"]) == 0
    captured = capsys.readouterr()
    out = [json.loads(line) for line in captured.out.splitlines()]
    assert [o["id"] for o in out] == ["a", 2]
    assert out[0]["alert"] is True and out[1]["alert"] is False and out[1]["hits"] == []
    assert set(out[0]) == {"id", "score", "alert", "rules", "hits"}
    for hit in out[0]["hits"]:
        assert lines[0][hit["field"]][hit["start"]:hit["end"]] == hit["match"]
    assert "not JSON" in captured.err


def test_score_url_uses_the_loader(capsys: pytest.CaptureFixture[str]) -> None:
    title, text = ARTICLE.split("\n")
    code = run(["score", "--jsonl", "--rules", str(RULES), "https://example.org/a"],
               url_loader=lambda url: (title, text))
    assert code == 0
    assert json.loads(capsys.readouterr().out)["id"] == "https://example.org/a"


def test_score_url_without_loader_reports_and_continues(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    title, text = ARTICLE.split("\n")
    article = tmp_path / "a.jsonl"
    article.write_text(json.dumps({"id": 1, "title": title, "text": text}), encoding="utf-8")
    code = run(["score", "--jsonl", "--rules", str(RULES), "http://example.org/x", str(article)])
    captured = capsys.readouterr()
    assert code == 1 and "url_loader" in captured.err
    assert json.loads(captured.out)["alert"] is True


def test_a_reader_that_stops_early_ends_the_scoring_quietly(tmp_path: Path) -> None:
    # `monitor score many.jsonl | head -1`: no traceback, no "cannot score" for the input.
    import subprocess
    import sys

    rows = [{"id": f"r{i}", "title": "قوات روسية في الجفرة", "text": "وصلت قوات روسية " * 50}
            for i in range(400)]
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "score", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b"== r0")
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(60) == 141
    assert "Traceback" not in err and "cannot score" not in err
