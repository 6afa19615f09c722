"""A search query, its words' forms, and the index expressions that find them.

A query is normalised and tokenised exactly like an article (:mod:`monitor.search.fields`).
Words in double quotes (``"…"``, ``«…»``, ``“…”``) form a phrase; every other word stands alone;
an article must contain every word and every phrase. Nothing the user typed reaches FTS5 as
syntax: each indexed token is quoted, so ``title:``, ``NEAR``, ``OR``, ``*`` and parentheses are
words like any other. Expressions are trees (:mod:`monitor.search.expr`), written as FTS5 for
SQLite or as a tsquery for PostgreSQL by the store.

Each query word is read as the matcher reads an alias of the ``noun`` inflection class
(:func:`monitor.match.forms.token_spec`): the proclitics it may carry (و ف ب ك ل and their pairs,
ال and لل with theirs; fewer for short words), and the suffixes (dual, plurals, pronouns, ة as ت
before them). The index holds whole tokens, so the expression asks, for each allowed proclitic,
for the stem alone when it may stand bare and for the stem and each first letter its suffixes
can start with as a *prefix* term (``"بالقوات"``, ``"بالقواتا"*``, ``"بالقواته"*`` …): a few dozen
range look-ups instead of the hundreds of exact forms, and narrow ranges (``كرت*``, not ``كر*``).
A phrase asks for all its words; the order, and the exact forms (a prefix also finds longer,
unrelated words), are verified on the results (:mod:`monitor.search.highlight`).
docs/search.md has the measurements behind these choices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from itertools import product

from monitor.errors import SearchError
from monitor.match.forms import TokenSpec, token_spec
from monitor.match.tokens import tokenize
from monitor.normalize import normalize_text
from monitor.search.expr import SKELETON, TEXT, And, Columns, Node, Or, Term, quote, to_fts5
from monitor.search.expr import Phrase as InRow

__all__ = ["Query", "Phrase", "parse_query", "quote", "phrase_expression", "skeleton_expression",
           "phrase_node", "skeleton_node", "SEARCH_INFLECTION"]

#: How a search word may be inflected (monitor.match.forms): nouns and adjectives.
SEARCH_INFLECTION = "noun"
#: Columns searched (the skeleton columns serve the backtest only).
TEXT_COLUMNS = "{" + " ".join(TEXT) + "}"
# A phrase with more proclitic combinations than this is looked for word by word (every word
# present) and its order checked on the results: the expression would otherwise explode.
MAX_ALTERNATIVES = 128
MAX_QUERY_WORDS = 32


@dataclass(frozen=True)
class Phrase:
    """Consecutive normalised words that must appear in this order (one word: anywhere)."""

    words: tuple[str, ...]

    @cached_property
    def specs(self) -> tuple[TokenSpec, ...]:
        return tuple(token_spec(w, SEARCH_INFLECTION) for w in self.words)

    @cached_property
    def forms(self) -> tuple[frozenset[str], ...]:
        """Every text token each word matches, at its place in the phrase (exact)."""
        return tuple(spec_forms(s, i == 0) for i, s in enumerate(self.specs))

    def __str__(self) -> str:
        return " ".join(self.words)


@dataclass(frozen=True)
class Query:
    """What to look for: every phrase (a lone word is a phrase of one)."""

    text: str
    phrases: tuple[Phrase, ...]

    def expression(self) -> Node:
        """The index expression of the query: every word of every phrase, each in any of its
        forms (a superset: word order and exact forms are verified on the results). Phrases
        are not asked of FTS5 as phrases: that costs a merge of the same prefix ranges for each
        proclitic combination, several times the cost of the words alone."""
        words = dict.fromkeys((s, i == 0) for p in self.phrases for i, s in enumerate(p.specs))
        return And(tuple(Columns(TEXT, Or(tuple(_token_terms(s, first, True))))
                         for s, first in words))


_QUOTES = re.compile(r'"')


def parse_query(text: str) -> Query:
    """Parse what the user typed. Raises :class:`SearchError` when nothing searchable is left
    (empty, or only punctuation)."""
    norm = normalize_text(text or "")     # every kind of double quote becomes '"'
    parts = _QUOTES.split(norm)
    phrases: list[Phrase] = []
    for i, part in enumerate(parts):
        words = [t.text for t in tokenize(part)]
        if not words:
            continue
        if i % 2 == 1:                  # inside quotes (an unclosed quote runs to the end)
            phrases.append(Phrase(tuple(words)))
        else:
            phrases.extend(Phrase((w,)) for w in words)
    if not phrases:
        raise SearchError("nothing to search for: the query has no words (letters or digits)")
    if sum(len(p.words) for p in phrases) > MAX_QUERY_WORDS:
        raise SearchError(f"query too long: at most {MAX_QUERY_WORDS} words")
    unique = tuple(dict.fromkeys(phrases))
    return Query(text, unique)


def spec_forms(spec: TokenSpec, first: bool) -> frozenset[str]:
    """The text tokens an alias token matches: proclitic + stem + suffix, as the matcher's scan
    accepts them (``first``: the token starts its alias)."""
    if spec.exact:
        return frozenset({spec.stem})
    before = spec.first if first else spec.inner
    return frozenset(b + spec.stem + a for b in before
                     for a in spec.after | spec.bare_after if spec.accepts(b, a))


def _token_terms(spec: TokenSpec, first: bool, refine: bool) -> list[Term]:
    """Index terms covering every form of one token (a superset when prefixes are used)."""
    if spec.exact:
        return [Term(spec.stem)]
    before = sorted(spec.first if first else spec.inner)
    after = spec.after | spec.bare_after      # a superset is enough for index terms
    if not refine or len(after) <= 1:
        prefix = after != frozenset({""})
        return [Term(b + spec.stem, prefix) for b in before]
    letters = sorted({a[0] for a in after if a})
    out = []
    for b in before:
        if "" in after:
            out.append(Term(b + spec.stem))
        out += [Term(b + spec.stem + c, True) for c in letters]
    return out


def phrase_node(specs: tuple[TokenSpec, ...] | list[TokenSpec]) -> Node:
    """An expression matching every article where these alias tokens stand in a row (and
    some others): an OR of phrases of prefix terms, one per proclitic combination, or, past
    :data:`MAX_ALTERNATIVES`, every token present anywhere (the backtest's candidates)."""
    per_token = [_token_terms(s, i == 0, False) for i, s in enumerate(specs)]
    total = 1
    for terms in per_token:
        total *= len(terms)
    if len(per_token) == 1:
        return Or(tuple(per_token[0]))
    if total <= MAX_ALTERNATIVES:
        return Or(tuple(InRow(combo) for combo in product(*per_token)))
    return And(tuple(Or(tuple(terms)) for terms in per_token))


def phrase_expression(specs: tuple[TokenSpec, ...] | list[TokenSpec]) -> str:
    """:func:`phrase_node` as FTS5 (what :mod:`monitor.match.affected` composes)."""
    return to_fts5(phrase_node(specs))


def skeleton_node(skeletons: list[str]) -> Node:
    """An expression matching every article whose skeleton columns hold all these skeleton
    tokens (variant matching: the backtest's superset)."""
    return Columns(SKELETON, And(tuple(Term(s) for s in skeletons)))


def skeleton_expression(skeletons: list[str]) -> str:
    """:func:`skeleton_node` as FTS5."""
    return to_fts5(skeleton_node(skeletons))
