"""Index queries as a small tree, written for either engine: SQLite's FTS5 or PostgreSQL.

:mod:`monitor.search.query` and :mod:`monitor.match.affected` build what to ask the index from
normalised tokens: terms (a whole token, or a prefix), phrases (terms in a row), AND, OR, NOT and
column filters over the four indexed columns. :func:`to_fts5` writes the FTS5 expression SQLite
has always been asked; :func:`to_postgres` writes a condition on PostgreSQL's ``article_search``
(migrations/postgresql/0011_search.sql), whose two ``tsvector`` columns hold the tokens verbatim:
``terms`` (title at weight A, body at D) and ``skel_terms`` (the skeleton columns, likewise).
:func:`parse_fts5` reads back the FTS5 subset written here, for callers that compose strings
(the backtest's edit scope).

PostgreSQL's ``tsvector`` cannot hold every position: at most 256 per lexeme and none past 16383.
The index keeps only exact positions and marks a row that lost some with the lexeme ``~`` (no
token can be ``~``: tokens are letters or digits), so a phrase is asked as "in a row, or marked
and all present": never fewer rows than FTS5 finds, which the backtest relies on. Under a NOT the
approximations are asked the other way round (exact positions only) for the same reason.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

__all__ = ["Term", "Phrase", "And", "Or", "Not", "Columns", "Node", "Expression", "TEXT",
           "SKELETON", "quote", "to_fts5", "parse_fts5", "to_postgres", "rank_query", "as_node"]

TEXT = ("title", "body")
SKELETON = ("title_skel", "body_skel")
# PostgreSQL: the tsvector column and weight holding each FTS5 column.
_VECTOR = {"title": ("terms", "A"), "body": ("terms", "D"),
           "title_skel": ("skel_terms", "A"), "body_skel": ("skel_terms", "D")}
_ALL = frozenset(_VECTOR)
#: Longest lexeme PostgreSQL is given, in characters: 500 of at most 4 bytes stay under its
#: 2047-byte limit. The index cuts its tokens the same way (search_vector()).
MAX_LEXEME = 500
MARK = "'~'"                       # the row lost positions (see the module's docstring)
_NEVER = f"({MARK} & !{MARK})"    # matches no row


@dataclass(frozen=True)
class Term:
    """One indexed token, or (``prefix``) every token starting with it."""

    token: str
    prefix: bool = False


@dataclass(frozen=True)
class Phrase:
    """Terms at consecutive positions of one column."""

    terms: tuple[Term, ...]


@dataclass(frozen=True)
class And:
    """Every part matches."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """Some part matches."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """``keep`` matches and ``drop`` does not (FTS5's binary NOT)."""

    keep: Node
    drop: Node


@dataclass(frozen=True)
class Columns:
    """``node`` asked of these columns only (nested filters intersect)."""

    columns: tuple[str, ...]
    node: Node


Node = Term | Phrase | And | Or | Not | Columns
Expression = Node | str
"""What the store's query functions take: a tree, or an FTS5 string in :func:`parse_fts5`'s
subset."""


def as_node(expr: Expression) -> Node:
    """The tree of an expression (an FTS5 string is parsed)."""
    return parse_fts5(expr) if isinstance(expr, str) else expr


# ---------------------------------------------------------------------------- FTS5


def quote(token: str) -> str:
    """An FTS5 string literal: the token in double quotes, inner quotes doubled."""
    return '"' + token.replace('"', '""') + '"'


def to_fts5(node: Node, nested: bool = False) -> str:
    """The FTS5 expression (exactly what :mod:`monitor.search.query` wrote before the tree
    existed: a compound inside another is parenthesised, even of one part)."""
    if isinstance(node, Term):
        return quote(node.token) + ("*" if node.prefix else "")
    if isinstance(node, Phrase):
        return "(" + " + ".join(to_fts5(t) for t in node.terms) + ")"
    if isinstance(node, Columns):
        return "{" + " ".join(node.columns) + "}: (" + to_fts5(node.node) + ")"
    if isinstance(node, Not):
        text = f"{to_fts5(node.keep, True)} NOT {to_fts5(node.drop, True)}"
    else:
        text = (" AND " if isinstance(node, And) else " OR ").join(
            to_fts5(p, True) for p in node.parts)
    return f"({text})" if nested else text


# FTS5 syntax as written above; anything else is refused rather than guessed at.
_LEX = re.compile(r'\s*(?:(?P<str>"(?:[^"]|"")*")(?P<star>\*)?|(?P<cols>\{[\w ]*\})\s*:'
                  r'|(?P<op>AND|OR|NOT)\b|(?P<sym>[()+]))')
# FTS5's ascii tokenizer: ASCII characters other than letters and digits separate tokens.
_ASCII_SEP = re.compile(r"[\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _lex(text: str) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    pos = 0
    while text[pos:].strip():
        m = _LEX.match(text, pos)
        if m is None:
            raise ValueError(f"FTS5 syntax not supported at {text[pos:pos + 30]!r}")
        pos = m.end()
        if m["str"]:
            out.append(("str", _string(m["str"][1:-1].replace('""', '"'), bool(m["star"]))))
        elif m["cols"]:
            out.append(("cols", tuple(m["cols"][1:-1].split())))
        else:
            out.append(((m["op"] or m["sym"]), None))
    return out


def _split(node: Node) -> tuple[Term, ...]:
    return node.terms if isinstance(node, Phrase) else (node,) if isinstance(node, Term) else ()


def _string(text: str, prefix: bool) -> Node:
    """An FTS5 string as its tokenizer reads it (several tokens make a phrase)."""
    tokens = [t.translate(_ASCII_LOWER) for t in _ASCII_SEP.split(text) if t]  # ASCII case only
    terms = tuple(Term(t, prefix and i == len(tokens) - 1) for i, t in enumerate(tokens))
    return terms[0] if len(terms) == 1 else Phrase(terms) if terms else Or(())


# FTS5's precedence, loosest first.
_LOOSER = {"OR": "AND", "AND": "NOT", "NOT": None}


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens, self.i = _lex(text), 0

    def peek(self) -> str | None:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else None

    def take(self, kind: str) -> object:
        if self.peek() != kind:
            raise ValueError(f"FTS5 expression: expected {kind}, found {self.peek()}")
        self.i += 1
        return self.tokens[self.i - 1][1]

    def binary(self, op: str) -> Node:
        tighter = _LOOSER[op]
        parts = [self.binary(tighter) if tighter else self.unary()]
        while self.peek() == op:
            self.take(op)
            parts.append(self.binary(tighter) if tighter else self.unary())
        if op == "NOT":                         # left-associative: a NOT b NOT c
            node = parts[0]
            for drop in parts[1:]:
                node = Not(node, drop)
            return node
        return parts[0] if len(parts) == 1 else (And if op == "AND" else Or)(tuple(parts))

    def unary(self) -> Node:
        if self.peek() == "cols":
            columns: tuple[str, ...] = self.take("cols")     # type: ignore[assignment]
            if set(columns) - _ALL:
                raise ValueError(f"FTS5 expression: unknown columns {sorted(set(columns) - _ALL)}")
            return Columns(columns, self.unary())
        if self.peek() == "(":
            self.take("(")
            node = self.binary("OR")
            self.take(")")
            return node
        strings: list[Node] = [self.take("str")]             # type: ignore[list-item]
        while self.peek() == "+":
            self.take("+")
            strings.append(self.take("str"))                # type: ignore[arg-type]
        if len(strings) == 1:
            return strings[0]
        return Phrase(tuple(t for n in strings for t in _split(n)))


def parse_fts5(text: str) -> Node:
    """The tree of an FTS5 expression of the subset :func:`to_fts5` writes (quoted strings,
    ``*``, ``+``, AND, OR, NOT, parentheses, ``{columns}:``). Raises ValueError otherwise."""
    parser = _Parser(text)
    node = parser.binary("OR")
    if parser.peek() is not None:
        raise ValueError(f"FTS5 expression: unexpected {parser.peek()}")
    return node


# ---------------------------------------------------------------------------- PostgreSQL


def _vectors(node: Node, cols: frozenset[str]) -> set[str]:
    """The tsvector columns a subtree asks, given the FTS5 columns in force."""
    if isinstance(node, Columns):
        return _vectors(node.node, cols & frozenset(node.columns))
    if isinstance(node, (Term, Phrase)):
        return {_VECTOR[c][0] for c in cols}
    parts = (node.keep, node.drop) if isinstance(node, Not) else node.parts
    return set().union(*(_vectors(p, cols) for p in parts))


def _lexeme(term: Term, weights: str) -> tuple[str, str, bool]:
    """(with the weights, without them, whether the token was cut to MAX_LEXEME)."""
    token = term.token[:MAX_LEXEME]
    cut = len(token) < len(term.token)
    bare = "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"
    if term.prefix or cut:
        bare += ":*"
        return bare + weights, bare, cut
    return bare + (":" + weights if weights else ""), bare, cut


def _leaf(node: Term | Phrase, weights: str, negated: bool) -> str:
    """A term or phrase, as a superset of what FTS5 finds (a subset under NOT): a row marked
    as having lost positions may have lost the ones a phrase or a weight needs."""
    # A term as FTS5's tokenizer reads it: split on ASCII punctuation, ASCII case folded.
    terms = [p for t in (node.terms if isinstance(node, Phrase) else (node,))
             for p in _split(_string(t.token, t.prefix))]
    if not terms:
        return _NEVER
    lexemes = [_lexeme(t, weights) for t in terms]
    weighted = " <-> ".join(w for w, _, _ in lexemes)
    exact = len(lexemes) == 1 and not weights
    if negated:
        if any(cut for _, _, cut in lexemes):
            return _NEVER             # a cut token also finds others: under NOT ask nothing
        return weighted if exact else f"(({weighted}) & !{MARK})"
    if exact:
        return weighted
    return f"(({weighted}) | ({MARK} & {' & '.join(b for _, b, _ in lexemes)}))"


def _tsquery(node: Node, cols: frozenset[str], vector: str, negated: bool) -> str:
    if isinstance(node, Columns):
        return _tsquery(node.node, cols & frozenset(node.columns), vector, negated)
    if isinstance(node, (Term, Phrase)):
        here = "".join(sorted(_VECTOR[c][1] for c in cols if _VECTOR[c][0] == vector))
        if not here:
            return _NEVER
        return _leaf(node, "" if len(here) == 2 else here, negated)
    if isinstance(node, Not):
        return (f"({_tsquery(node.keep, cols, vector, negated)} & "
                f"!{_tsquery(node.drop, cols, vector, not negated)})")
    if not node.parts:
        return _NEVER if isinstance(node, Or) else f"({MARK} | !{MARK})"
    joiner = " & " if isinstance(node, And) else " | "
    return "(" + joiner.join(_tsquery(p, cols, vector, negated) for p in node.parts) + ")"


def _condition(node: Node, cols: frozenset[str], negated: bool,
               params: list[str]) -> str:
    vectors = _vectors(node, cols)
    if not vectors:
        return "FALSE"
    if len(vectors) == 1:             # the whole subtree is one tsquery of one column
        vector = vectors.pop()
        params.append(_tsquery(node, cols, vector, negated))
        return f"s.{vector} @@ ?::tsquery"
    if isinstance(node, Columns):
        return _condition(node.node, cols & frozenset(node.columns), negated, params)
    if isinstance(node, (Term, Phrase)):       # both kinds of column: either may hold it
        parts = [_condition(node, frozenset(c for c in cols if _VECTOR[c][0] == v), negated,
                            params) for v in sorted(vectors)]
        return "(" + " OR ".join(parts) + ")"
    if isinstance(node, Not):
        keep = _condition(node.keep, cols, negated, params)
        return f"({keep} AND NOT {_condition(node.drop, cols, not negated, params)})"
    joiner = " AND " if isinstance(node, And) else " OR "
    return "(" + joiner.join(_condition(p, cols, negated, params) for p in node.parts) + ")"


def to_postgres(expr: Expression) -> tuple[str, list[str]]:
    """A condition on ``article_search s`` (``?`` marks, SQLite-spelled like all the store's
    SQL) and its parameters: the tsquery texts, cast by the condition (the cast reads lexemes
    verbatim, as the index wrote them: no parser, no dictionary)."""
    params: list[str] = []
    return _condition(as_node(expr), _ALL, False, params), params


def rank_query(expr: Expression) -> str | None:
    """The tsquery ``ts_rank`` scores ``terms`` with, or None when the expression asks other
    columns too (the backtest's, which is never ranked)."""
    node = as_node(expr)
    if _vectors(node, _ALL) != {"terms"}:
        return None
    return _tsquery(node, _ALL, "terms", False)
