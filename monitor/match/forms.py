"""Word forms: which proclitics and suffixes an alias token may carry in running text.

Arabic attaches conjunctions, prepositions and the article in front of a word (و ف ب ك ل, ال,
لل) and inflection and pronouns behind it (روسي → روسية، روسيتين؛ قوات → قواتها). Instead of
guessing at the text (a stemmer would read كسرت "broke" as ك + سرت), each alias token becomes a
:class:`TokenSpec`: a *stem* that the automaton looks for, plus the exact sets of strings allowed
before and after it inside the same token. A hit whose leftovers are not in those sets is not a
match. Work stays one automaton pass plus a set lookup per hit.

Inflection classes (``inflect:`` in the rule files, documented in ``rules/README.md``):

* ``none``: the token as written (names, places, weapons);
* ``nisba``: adjectives in -ي: روسي → روسية روسيان روسيين روسيون روسيتان روسيتين روسيات روسيا;
* ``noun``: dual, sound plurals, accusative tanwin alef and pronoun suffixes: دعم → دعما دعمها،
  قاعدة → قاعدتان قاعدتين قاعدتها قاعدات، مستشار → مستشارون مستشارين مستشاريها;
* ``pronoun``: pronoun suffixes only: قوات → قواتها قواته قواتهم;
* ``verb``: plural and dual endings and object pronouns: يقدم → يقدمون، أرسل → أرسلوا أرسلوها;
* ``possessed``: a third-person pronoun suffix is required: قوات → قواتها قواته قواتهم, not
  قوات (for "Russia deploys *its* forces", where the suffix is what ties the noun to Russia);
  ``possessed_f``, ``possessed_m``, ``possessed_pl``: the same with only ها, only ه, or only
  هم هما هن, so that the pronoun can agree with its antecedent (روسيا … قواتها، الكرملين …
  طائراته، الروس … مواقعهم).

Broken plurals (جنود، قواعد، أسلحة) are different words: the rule writer lists them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

__all__ = ["INFLECTIONS", "Suffixes", "TokenSpec", "token_spec", "clitic_forms", "is_arabic",
           "suffixes"]

INFLECTIONS = ("none", "nisba", "noun", "pronoun", "possessed", "possessed_f", "possessed_m",
               "possessed_pl", "verb")

_ARABIC = re.compile(r"[\u0600-\u06FF]")

# Proclitics that may precede a word: conjunctions و ف, prepositions ب ل ك, and their pairs.
_FULL = ("", "و", "ف", "ب", "ك", "ل", "وب", "فب", "وك", "فك", "ول", "فل")
# Short words are easily produced by reading a real letter as a clitic: كسرت "broke" is not
# ك+سرت (Sirte), فسرت "explained" is not ف+سرت, فليبي (Filipe) is not ف+ليبي. For words of 3-4
# letters only the prepositions ب ل and و (alone or before one) are allowed. Measured in
# docs/matching.md §2.
_SHORT = ("", "و", "ب", "ل", "وب", "ول")
# Before the article: ل + ال is written لل (للجفرة), never لال.
_BEFORE_ARTICLE = ("", "و", "ف", "ب", "ك", "وب", "فب", "وك", "فك")
_ARTICLE = frozenset([p + "ال" for p in _BEFORE_ARTICLE] + [p + "لل" for p in ("", "و", "ف")])
# A word whose first letters read as the article (ألماني, إلكتروني: normalised الماني,
# الكتروني) takes the article again in the text: الألماني، للألماني.
_ARTICLE_TWICE = _ARTICLE | {p + "ال" for p in _ARTICLE}
_INNER = frozenset({"", "ال"})
_INNER_ARTICLE = frozenset({"ال", "الال"})
SHORT_MAX = 4
TINY_MAX = 2
# What a token's proclitics end with when they end with the article (بال، وال، لل).
_ARTICLE_ENDS = ("ال", "لل")

# Pronoun suffixes: his, her, their (m/f/dual), your (m/f/pl), our, my.
PRONOUNS = ("ه", "ها", "هم", "هما", "هن", "ك", "كم", "كما", "كن", "نا", "ي")
_P = frozenset(PRONOUNS)
_NOUN_MASC = frozenset({"", "ا", "ان", "ين", "ون", "ات"} | _P | {"ات" + p for p in _P}
                       | {"ي" + p for p in _P if p != "ي"})
# Feminine nouns in ة (normalised ه): the ة becomes ت before any suffix (قاعدتها، قاعدتان).
_NOUN_FEM = frozenset({"ه", "تان", "تين", "تا", "تي", "ات"} | {"ت" + p for p in _P}
                      | {"ات" + p for p in _P})
# After the article a noun takes neither a pronoun, nor the construct dual, nor the indefinite
# accusative: التشكيلي is the adjective "plastic" (arts), not تشكيل + ي "my formation". An ه
# after a masculine noun is then its ة (القناصة, snipers; المقاتلة, a fighter jet), not "his".
_NOUN_MASC_ARTICLE = frozenset({"", "ه", "ان", "ين", "ون", "ات"})
_NOUN_FEM_ARTICLE = frozenset({"ه", "تان", "تين", "ات"})
_NISBA = frozenset({"", "ه", "ان", "ين", "ون", "تان", "تين", "ات"})
# The indefinite accusative (مرتزقا روسيا، دعما ليبيا) takes neither the article nor a clitic:
# وروسيا، بروسيا، لروسيا are the country, never "and Russian".
_NISBA_BARE = frozenset({"ا"})
_EMPTY: frozenset[str] = frozenset()
_PRONOUN = frozenset({""} | _P)
_THIRD = ("ه", "ها", "هم", "هما", "هن")
# A verb as listed (its person prefix and gender are the rule writer's: ترسل، يرسل، أرسلت), with
# the plural and dual endings and an object pronoun after either: يرسلون، أرسلوا، يرسلان،
# أرسلوها، يرسلونهم (the و of أرسلوا drops its alef before a pronoun).
_VERB = frozenset(_PRONOUN | {"ون", "وا", "ان", "ا", "ن"}
                  | {e + p for e in ("ون", "و", "ان", "ا") for p in _THIRD})


def _possessed(thirds: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """Suffixes of a noun with one of these pronouns: masculine base (قواتها، مستشاريه،
    عسكريوه: the plural's ن drops before a pronoun), feminine base in ة (قاعدتها، طائرتاها)."""
    # Never ي + ه: normalised, يه is the nisba's feminine (الدفاعية is "defensive", not
    # "his defenders"); agent plurals are listed with their ي (مستشاري → مستشاريه).
    masc = (frozenset(thirds) | {c + p for p in thirds for c in ("ات", "ي", "و")}) - {"يه"}
    fem = frozenset({c + p for p in thirds for c in ("ت", "ات", "تا")})
    return masc, fem


# Which pronoun a possessed noun carries says whose it is: ها is Russia's or Moscow's
# (feminine), ه the Kremlin's, هم the Russians'. Composed concepts use that (rules/concepts.yaml).
_POSSESSED = {"possessed": _possessed(_THIRD), "possessed_f": _possessed(("ها",)),
              "possessed_m": _possessed(("ه",)), "possessed_pl": _possessed(("هم", "هما", "هن"))}
_NONE = frozenset({""})


def is_arabic(word: str) -> bool:
    """True when the word contains Arabic-script letters (clitics apply to those only)."""
    return bool(_ARABIC.search(word))


def _clitics(word: str) -> tuple[str, ...]:
    if not is_arabic(word) or len(word) <= TINY_MAX:
        return ("",)
    return _SHORT if len(word) <= SHORT_MAX else _FULL


@dataclass(frozen=True, slots=True)
class TokenSpec:
    """One alias token as the automaton sees it.

    ``stem`` is the key; ``first`` / ``inner`` are the strings allowed before the stem when the
    token starts its alias or follows another token of it; ``after`` the strings allowed behind it.
    ``bare_after`` holds the suffixes allowed only when nothing stands before the stem.
    ``exact`` tokens (digits, one or two letters) are matched as whole tokens only.
    """

    stem: str
    first: frozenset[str]
    inner: frozenset[str]
    after: frozenset[str]
    inflect: str = "none"
    bare_after: frozenset[str] = _EMPTY
    #: The suffixes of ``after`` allowed when the article stands before the stem (None: all).
    article_after: frozenset[str] | None = None

    def accepts(self, before: str, after: str) -> bool:
        """May ``after`` follow the stem when ``before`` precedes it in the token?"""
        if self.article_after is not None and before.endswith(_ARTICLE_ENDS):
            return after in self.article_after
        return after in self.after or (not before and after in self.bare_after)

    @property
    def exact(self) -> bool:
        return self.first == self.inner == self.after == _NONE


class Suffixes(NamedTuple):
    """The stem of an alias token and what may follow it in a text: ``after`` always, ``bare``
    only when nothing stands before the stem, ``article`` (None: as ``after``) after the
    article."""

    stem: str
    after: frozenset[str]
    bare: frozenset[str] = _EMPTY
    article: frozenset[str] | None = None


def suffixes(base: str, inflect: str) -> Suffixes:
    """The stem of ``base`` under an inflection class, and the suffixes allowed after it."""
    if inflect == "none" or not is_arabic(base) or len(base) <= TINY_MAX:
        return Suffixes(base, _NONE)
    if inflect == "pronoun":
        return Suffixes(base, _PRONOUN, article=_NONE)
    if inflect == "verb":
        return Suffixes(base, _VERB)
    if inflect in _POSSESSED:
        masc, fem = _POSSESSED[inflect]
        if base.endswith("ه") and len(base) >= 3:
            return Suffixes(base[:-1], fem, article=_EMPTY)
        return Suffixes(base, masc, article=_EMPTY)
    if inflect == "nisba" and base.endswith("يه"):
        base = base[:-1]     # written in the feminine (روسية): the same adjective
    if inflect == "nisba" and base.endswith("ي"):
        return Suffixes(base, _NISBA, _NISBA_BARE)
    if base.endswith("ه") and len(base) >= 3:
        return Suffixes(base[:-1], _NOUN_FEM, article=_NOUN_FEM_ARTICLE)
    return Suffixes(base, _NOUN_MASC, article=_NOUN_MASC_ARTICLE)


@lru_cache(maxsize=64)
def _first(clitics: tuple[str, ...]) -> frozenset[str]:
    # One shared set per clitic class: a pack of 300,000 aliases must not hold 300,000 copies.
    return frozenset(clitics) | _ARTICLE


def token_spec(word: str, inflect: str = "none") -> TokenSpec:
    """The :class:`TokenSpec` of one normalised alias token.

    A token written with the article (الجفره) needs an article form in the text (الجفرة،
    بالجفرة، للجفرة); any other Arabic word of three or more letters may take one (فاغنر →
    الفاغنر، للفاغنر), because the press puts the article on foreign names too.
    """
    if not is_arabic(word) or len(word) <= TINY_MAX or word.isdigit():
        return TokenSpec(word, _NONE, _NONE, _NONE, "none")
    if word.startswith("ال") and len(word) > 4:
        # (آلية normalises to اليه: with two letters left, ال is part of the word; the
        # article is written, so no bare-only suffix can follow)
        forms = suffixes(word[2:], inflect)
        return TokenSpec(forms.stem, _ARTICLE_TWICE, _INNER_ARTICLE, forms.after, inflect,
                         article_after=forms.article)
    forms = suffixes(word, inflect)
    return TokenSpec(forms.stem, _first(_clitics(word)), _INNER, forms.after, inflect,
                     forms.bare, forms.article)


def clitic_forms(first: str) -> list[str]:
    """Every proclitic form of an alias's first token, the bare token included (for docs, tests).

    ``الجفره`` → ``الجفره والجفره بالجفره ... للجفره``; ``حفتر`` → ``حفتر لحفتر وبحفتر الحفتر …``.
    """
    spec = token_spec(first)
    if spec.exact:
        return [first]
    if first.startswith("ال") and len(first) > 4:
        return sorted(p + first[2:] for p in spec.first)
    return sorted(p + first for p in spec.first)
