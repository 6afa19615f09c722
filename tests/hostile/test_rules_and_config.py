"""Hostile or careless rule and configuration files: a clear error naming the file and line, in
bounded memory (each CLI run below has its address space capped, so a blow-up fails the test)."""

from __future__ import annotations

import os
import random
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.match import Matcher, load_rules

LIMIT_MB = 400
RULE_TAIL = "rules:\n  - id: r\n    any: [x]\n    threshold: 1\n"


def capped(*args: str, cwd: Path, limit_mb: int = LIMIT_MB) -> subprocess.CompletedProcess[str]:
    """The real CLI with its address space capped at ``limit_mb`` (a MemoryError fails it)."""
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit_mb << 20, limit_mb << 20))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return subprocess.run([sys.executable, "-m", "monitor", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=240, env=env, preexec_fn=cap)


def billion_laughs(top: str) -> str:
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n" + top


def test_rule_file_with_yaml_alias_expansion_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(billion_laughs("entities:\n  - id: x\n    aliases: *l9\n" + RULE_TAIL))
    out = capped("rules", "check", str(path), cwd=tmp_path)
    assert out.returncode == 1, out.stderr[-2000:]
    assert f"{path}:1:" in out.stderr and "expands to more than" in out.stderr
    assert len(out.stderr) < 2000      # the expanded value is never quoted


def test_config_file_with_yaml_alias_expansion_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(billion_laughs("poll:\n  interval_seconds: 600\n"))
    out = capped("--config", str(path), "feeds", cwd=tmp_path)
    assert out.returncode == 2 and f"{path}:1" in out.stderr and "expands" in out.stderr


def test_config_saved_in_windows_1256_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_bytes("poll:\n  interval_seconds: 600\n# تعليق بالعربية\n".encode("cp1256"))
    out = capped("--config", str(path), "feeds", cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert f"{path}:3" in out.stderr and "not UTF-8" in out.stderr


def test_rule_file_saved_in_windows_1256_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_bytes(("entities:\n  - id: x\n    aliases: [روسيا]\n" + RULE_TAIL).encode("cp1256"))
    out = capped("rules", "check", str(path), cwd=tmp_path)
    assert out.returncode == 1 and f"{path}:3" in out.stderr and "not UTF-8" in out.stderr


def test_huge_quoted_value_is_cut_short_in_the_message(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("entities:\n  - id: x\n    weight: '" + "9" * 1_000_000 + "'\n"
                    "    aliases: [روسيا]\n" + RULE_TAIL)
    out = capped("rules", "check", str(path), cwd=tmp_path)
    assert out.returncode == 1 and "bad weight" in out.stderr and len(out.stderr) < 2000


def random_pack(path: Path, n: int) -> None:
    rng = random.Random(n)
    letters = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("entities:\n  - id: x\n    inflect: noun\n    aliases:\n")
        for _ in range(n):
            words = (("".join(rng.choice(letters) for _ in range(rng.randint(4, 8))))
                     for _ in range(rng.randint(1, 3)))
            fh.write(f"      - {' '.join(words)}\n")
        fh.write(RULE_TAIL)


def test_alias_list_beyond_the_limit_gets_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    random_pack(path, 100_500)          # about 3.5 MB
    out = capped("rules", "check", str(path), cwd=tmp_path)
    assert out.returncode == 1 and f"{path}:2:" in out.stderr
    assert "more than 100,000 aliases" in out.stderr


def test_a_large_pack_loads_and_matches_in_bounded_memory(tmp_path: Path) -> None:
    # 40,000 aliases: loading is linear (a set, not a list, deduplicates) and the matcher holds
    # about a kilobyte per alias; the cap makes a regression to the old 13 KB fail.
    path = tmp_path / "big.yaml"
    random_pack(path, 40_000)
    out = capped("rules", "check", str(path), cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    script = ("import sys; from monitor.match import Matcher, load_rules; "
              f"m = Matcher(load_rules({str(path)!r})); "
              "print(len(m.find('قوات روسية في طبرق')) >= 0)")
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (LIMIT_MB << 20, LIMIT_MB << 20))
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=240, preexec_fn=cap)
    assert run.returncode == 0 and run.stdout.strip() == "True", run.stderr[-2000:]


@pytest.mark.parametrize("bad", ["aliases: [روسيا", "aliases: {روسيا", "\tid: x"])
def test_yaml_syntax_errors_name_the_line(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(f"entities:\n  - id: x\n    {bad}\n" + RULE_TAIL, encoding="utf-8")
    out = capped("rules", "check", str(path), cwd=tmp_path)
    assert out.returncode == 1 and f"{path}:" in out.stderr and "YAML" in out.stderr


def test_matcher_survives_any_text(matcher: Matcher) -> None:
    # Lone surrogates, NULs, control characters and enormous numbers never raise.
    for text in ["\ud800روسيا\x00", "\x00" * 1000, "9" * 100_000, "روسي" * 50_000 + "ة"]:
        matcher.score(text[:50], text)


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_rules(Path(__file__).resolve().parents[2] / "rules"))
