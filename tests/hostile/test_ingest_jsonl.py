"""`monitor score --jsonl` on a stream with one undecodable line: every other line is scored, in
order, and the bad line gets an error object naming its line number (the real CLI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO


def _stream() -> bytes:
    good = [json.dumps({"id": i, "title": "فاغنر في ليبيا", "text": "مرتزقة فاغنر في قاعدة الجفرة"},
                       ensure_ascii=False).encode() for i in range(6)]
    bad = json.dumps({"id": "bad", "title": "خبر", "text": "نص"}, ensure_ascii=False)
    lines = good[:3] + [bad.encode("cp1256")] + good[3:]
    return b"\n".join(lines) + b"\n"


@pytest.mark.parametrize("where", ["stdin", "file"])
def test_one_non_utf8_line_costs_only_itself(tmp_path, where):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    path = tmp_path / "docs.jsonl"
    path.write_bytes(_stream())
    args = [sys.executable, "-m", "monitor", "score", "--jsonl", "--rules", str(REPO / "rules"),
            "-" if where == "stdin" else str(path)]
    result = subprocess.run(args, input=_stream() if where == "stdin" else None, cwd=tmp_path,
                            env=env, capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    out = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [o.get("id") for o in out[:3] + out[4:]] == [0, 1, 2, 3, 4, 5]
    assert all(o["alert"] is True for o in out[:3] + out[4:])
    assert out[3]["line"] == 4 and "not UTF-8" in out[3]["error"]
    assert ":4: not UTF-8" in result.stderr.decode()
