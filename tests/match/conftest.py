"""Fixtures for the matching tests: the shipped rule pack and paths to shared data."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.match import Matcher, RuleSet, load_rules

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
RULES = REPO / "rules"


@pytest.fixture(scope="session")
def pack() -> RuleSet:
    """The shipped rule pack."""
    return load_rules(RULES)


@pytest.fixture(scope="session")
def matcher(pack: RuleSet) -> Matcher:
    """A matcher over the shipped rule pack (built once per session)."""
    return Matcher(pack)


def found(matcher: Matcher, text: str, title: str = "") -> set[str]:
    """The entities a document's hits name (after composition and exclusions)."""
    return {h.entity for h in matcher.score(title, text).hits}


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test when it is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not available")
    return path
