"""Where a field's items and sentences begin: the distances that proximity conditions measure.

Items of a list (a news ticker, a press review: "• … • …", "… / …", or emoji bullets "📌 … 🔴 …") are
separate stories: a hit in one item is never near a hit in another. Tokens after the n-th item
break are placed n × ITEM_GAP further on, beyond any ``within``; a sentence end counts
SENTENCE_GAP tokens, so that a press review's next sentence ("… in Benghazi. In Niger, a Russian
plane …") is further away than the rest of one sentence. Measured in docs/matching.md §5.

A *digest* (a press review, a news brief, "the week in lines") announces itself in its headline
or its first words. Its items are often written as plain sentences, or run on with ".." and
"؛", so in a digest every sentence end is an item break, and so is a comma that hands over to
the next outlet or item ("، بينما …", "، فيما …"): each item is then judged on its own.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from itertools import chain

__all__ = ["ITEM_GAP", "SENTENCE_GAP", "is_digest", "positions"]

ITEM_GAP = 10_000
SENTENCE_GAP = 8
#: The most tokens between the two dashes of an aside.
ASIDE_TOKENS = 12

# Sentence ends, bullets, and dashes that may start an item, each found by its own pattern
# whose first character lets the regex engine skip ahead; only a dash's context is checked in
# Python. Emoji bullets lie outside the BMP, and a class holding them is checked character by
# character several times slower, so it runs only on a text that holds one of them (a substring
# test, instant on the usual two-byte string that cannot hold them).
_STOPS = re.compile(r"[.!?؟;؛](?=\s)")
_BULLETS = re.compile(r"[•●▪■◆◇►|⭕✅❗⚡]|\(\d{1,2}\)(?= )")     # (and numbered items: "(2) …")
_EMOJI_BULLETS = "📌🔴🔵🔹🔸🔺🔻🟢🟠🟡"
_EMOJI = re.compile(f"[{_EMOJI_BULLETS}]")
# A slash spaced between two items separates them as a dash does («الوسط»: … / «المرصد»: …).
_DASHES = re.compile(r"[-/](?=\s)")
# An interview's turns open with dashes too («— هل …؟ — لا …»): a text in which a dash answers a
# question is a dialogue, one story, and its dashes break nothing.
_DIALOGUE = re.compile(r"[؟?]\s*-\s")
# A dateline (بنغازي (سبوتنيك) - …, طرابلس - …): the dash after a place (and its agency, in
# brackets) at the start of a text opens the report, not a second item. Two words and a dash
# with no agency are a ticker's first item («روسيا تعلن - ليبيا ترد»).
_DATELINE = re.compile(r"\s*(?:[^\W\d_]+(?: [^\W\d_]+){0,2} ?\([^()\n]{1,40}\)|[^\W\d_]+) ?-(?=\s)")
# The phrases with which bulletins change the subject ("وفي شأن آخر", "وعلى صعيد منفصل", "وفي
# الشأن الدولي"), in normalised spelling: the pattern starts at ف/ع, and the optional و before it
# and the word boundary before that are checked in Python.
# "In the Ukrainian file" names the next subject by its adjective: any nisba after الشان or
# الملف. A bulletin also turns to its next item aloud (ونعود بعد الفاصل، وننتقل الآن إلى).
_SHIFTS = re.compile(r"[فع](?:ي|لي) (?:(?:شان|صعيد|سياق|خبر|موضوع) (?:اخر|منفصل|مختلف)"
                     r"|(?:الشان|الملف) (?:الدولي|الخارجي|العربي|الاقليمي|المحلي|ال\w+يه?))\b")
_TURNS = re.compile(r"ن(?:عود|نتقل|تحول)(?: الان)? (?:الي|بعد الفاصل)\b")
# In a digest only: a comma (or a semicolon) that hands over to the next item.
# So do a quoted outlet opening the next item (`، و«كوميرسانت» تتناول …`) and the "and" that
# strings a digest's items together (`… الانتخابي الليبي، وإعلان «الفيلق الأفريقي» …`).
_HANDOVERS = re.compile(r"[،,;؛]\s*(?=(?:بينما|فيما|في حين|وفي|اما|اضافه الي|الي جانب)\b|و?\"|و)")

# Headlines and openings of digests, in normalised spelling (ة → ه, hamza seats unified).
_DIGEST = re.compile(
    r"\b(?:في سطور|موجز|جوله (?:في )?(?:ال)?(?:صحف|صحافه)|"
    r"(?:عناوين|ابرز عناوين|قراءه في|عرض|استعراض|من) (?:ال)?(?:صحف|صحافه)|(?:ابرز|اهم) (?:العناوين|الاخبار)|"
    # "in the morning papers", "Sunday's press"
    r"(?:صحف|صحافه) (?:الصباح|اليوم|المساء|الاحد|الاثنين|الثلاثاء|الاربعاء|الخميس|الجمعه|السبت)|"
    r"عناوين (?:ال)?نشره|نشره (?:اليوم|المساء|الظهيره|الصباح|منتصف الليل)|"
    r"النشره (?:الصباحيه|المسائيه|الاخباريه)|"
    r"(?:تصدرت|تصدر) (?:ال)?صحف|الصحف (?:\w+ )?الصادره|حصاد (?:الاسبوع|اليوم|الشهر)|نشره (?:الاخبار|الانباء)|اخبار متفرقه|"
    r"(?:اهتمت|تناولت|ركزت) (?:ال)?صحف|ما (?:تابعته|تناولته|نشرته) الصحف|الصحف الصادره|"
    # "the week's files", "summary of the day", "the eight o'clock bulletin", "also in our bulletin"
    r"(?:ملخص|ملفات|حصاد|موجز|ابرز احداث|احداث) (?:ال)?(?:اسبوع|يوم|شهر)|"
    r"نشره (?:ال)?(?:ثانيه|ثالثه|رابعه|خامسه|سادسه|سابعه|ثامنه|تاسعه|عاشره|منتصف|الساعه)|"
    r"(?:في|وفي|ومن) نشرتنا)\b")
#: How far into a text its digest heading is looked for (characters of normalised text).
DIGEST_HEAD = 200


# A headline that opens with the papers it reviews ("صحف الخليج:", "الصحف المصرية:") or is
# nothing else ("الصحافة الجزائرية"); a text that opens in one paper ("في صحيفة «التايمز» …").
_PAPERS = re.compile(r"^(?:ال)?(?:صحف|صحافه)(?: \w+){0,2}(?: ?:|$)")
_IN_PAPER = re.compile(r"^(?:في|وفي) (?:صحيفه|جريده) ")
# In a digest's headline, items are strung together with "و" (… في ليبيا وخسائر الجيش الروسي).
_AND_WORD = re.compile(r" و\w\w\w")


def is_digest(norm: str, whole: bool = False) -> bool:
    """Does this normalised headline (``whole``) or text opening announce a digest?"""
    opening = _PAPERS if whole else _IN_PAPER
    if opening.match(norm):
        return True
    return bool(_DIGEST.search(norm if whole else norm[:DIGEST_HEAD]))


def _marks(norm: str) -> tuple[list[int], list[int]]:
    """Where items start (bullets, and a dash that opens an item: at the start, after ":" or a
    line break, or spaced between two items: "… - …"), and where sentences end (a stop followed
    by a space)."""
    breaks = [m.start() for m in _BULLETS.finditer(norm)]
    if any(e in norm for e in _EMOJI_BULLETS):
        breaks += [m.start() for m in _EMOJI.finditer(norm)]
    stops = [m.start() for m in _STOPS.finditer(norm)]
    dateline = _DATELINE.match(norm)
    between: list[int] = []
    dashes = () if _DIALOGUE.search(norm) else _DASHES.finditer(norm)
    for m in dashes:
        i = m.start()
        if dateline and i == dateline.end() - 1:
            continue
        j = i - 1
        while j >= 0 and norm[j] in " \t\r\f\v":
            j -= 1
        if j < 0 or norm[j] in ":\n":
            breaks.append(i)            # opens an item
        elif norm[i - 1].isspace() and i + 2 < len(norm) and not norm[i + 2].isspace():
            between.append(i)           # spaced between two items, or one side of an aside
    breaks += _not_asides(norm, between, stops)
    breaks.sort()
    return breaks, stops


def _not_asides(norm: str, dashes: list[int], stops: list[int]) -> list[int]:
    """The spaced dashes that separate items: not the two of an aside («موسكو — بحسب دبلوماسي
    أوروبي — باتت …»), which are the only two dashes of their sentence, a few words apart."""
    by_sentence: dict[int, list[int]] = {}
    for i in dashes:
        by_sentence.setdefault(bisect.bisect_left(stops, i), []).append(i)
    out = []
    for group in by_sentence.values():
        if (len(group) == 2 and norm[group[0]] == norm[group[1]] == "-"
                and norm.count(" ", group[0], group[1]) <= ASIDE_TOKENS + 1):
            continue
        out += group
    return out


def _shifts(norm: str) -> list[int]:
    """Where subject-changing phrases start (with their و), at a word boundary."""
    out = []
    for m in chain(_SHIFTS.finditer(norm), _TURNS.finditer(norm)):
        i = m.start()
        if norm[i] in "فع" and not norm.startswith(("في ", "علي "), i):
            continue
        if i and norm[i - 1] == "و":
            i -= 1
        if i and (norm[i - 1].isalnum() or norm[i - 1] == "_"):
            continue
        out.append(i)
    return out


def _breaks(norm: str) -> list[int]:
    """Where items start: bullets, dashes that open an item and subject-changing phrases."""
    return sorted(_marks(norm)[0] + _shifts(norm))


def positions(norm: str, start_of: Callable[[int], int], digest: bool = False,
              headline: bool = False) -> Callable[[int], int]:
    """Token index → proximity position (the index, pushed past earlier items and stops).
    ``start_of(k)``: where token ``k`` starts in ``norm``; ``headline``: ``norm`` is a
    headline (in a digest, each "و" that opens a word starts an item)."""
    breaks, stops = _marks(norm)
    breaks = sorted(breaks + _shifts(norm))
    if digest:
        breaks += stops + [m.start() for m in _HANDOVERS.finditer(norm)]
        if headline:
            breaks += [m.start() + 1 for m in _AND_WORD.finditer(norm)]
        breaks.sort()
        stops = []
    if not breaks and not stops:
        return lambda k: k
    return lambda k: (k + ITEM_GAP * bisect.bisect_left(breaks, start_of(k))
                      + SENTENCE_GAP * bisect.bisect_left(stops, start_of(k)))
