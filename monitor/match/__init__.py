"""Rule matching: load rule files, compile aliases into one automaton, score documents.

``load_rules`` → :class:`RuleSet`; ``Matcher(ruleset).score(title, text)`` → :class:`ScoreResult`.
See docs/matching.md for normalisation, clitics, variant matching and the scoring formula.
"""

from __future__ import annotations

from monitor.match.model import Entity, Group, Hit, Near, Rule, RuleResult, RuleSet, ScoreResult
from monitor.match.rules import load_rules
from monitor.match.score import Matcher

__all__ = ["Entity", "Group", "Hit", "Matcher", "Near", "Rule", "RuleResult", "RuleSet",
           "ScoreResult", "load_rules"]
