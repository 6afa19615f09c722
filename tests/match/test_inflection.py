"""Inflection classes, the article on foreign names, composed concepts and context exclusions."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import RulesError
from monitor.match import Matcher, load_rules
from monitor.match.forms import suffixes, token_spec


def entities(matcher: Matcher, text: str) -> set[str]:
    return {h.entity for h in matcher.find(text)}


@pytest.mark.parametrize("form", ["روسي", "روسية", "روسيان", "روسيين", "روسيون", "روسيتان",
                                  "روسيتين", "روسيات", "الروسيتين", "والروسية", "روس", "الروس",
                                  "الروسى", "روسيّة", "روســية"])
def test_every_form_of_russian_is_russia(matcher: Matcher, form: str) -> None:
    assert "russia" in entities(matcher, f"قطعتان عسكريتان {form} في الميناء")


@pytest.mark.parametrize("form", ["الفاغنر", "للفاغنر", "والفاغنر", "بالفاغنر", "الفاجنر",
                                  "الواغنر", "فاغنز", "Вагнер"])
def test_the_article_and_clitics_on_a_foreign_name(matcher: Matcher, form: str) -> None:
    assert "wagner" in entities(matcher, f"عناصر {form} في الجنوب")


@pytest.mark.parametrize("text", ["كسرت ساقه", "سجل فليبي هدفا", "الرئيس الليبيري", "فيليبي كوتينيو",
                                  "دروس في التاريخ", "عروس البحر"])
def test_inflection_does_not_reopen_the_clitic_traps(matcher: Matcher, text: str) -> None:
    assert not entities(matcher, text) & {"libya", "sirte", "russia"}


def test_suffix_classes() -> None:
    assert suffixes("قوه", "noun")[0] == "قو"          # قوة → قوات، قواتها، قوتان
    assert "اتها" in suffixes("قوه", "noun")[1] and "تان" in suffixes("قوه", "noun")[1]
    assert "ا" in suffixes("دعم", "noun")[1]          # دعما عسكريا (accusative)
    assert "تين" in suffixes("روسي", "nisba")[1] and "ها" not in suffixes("روسي", "nisba")[1]
    assert "" not in suffixes("قوات", "possessed")[1] and "ها" in suffixes("قوات", "possessed")[1]
    assert suffixes("روسي", "none")[1] == frozenset({""})
    # Verbs take plural and dual endings and object pronouns: الروس يقدمون، أرسلوها.
    assert {"ون", "وا", "وها", "ان"} <= suffixes("يقدم", "verb")[1]
    assert "ات" not in suffixes("يقدم", "verb")[1]
    # The gendered classes keep only their pronoun; the plural's ن drops before it.
    assert "ها" in suffixes("قوات", "possessed_f")[1] and "ه" not in suffixes("قوات", "possessed_f")[1]
    assert "وه" in suffixes("مستشار", "possessed_m")[1] and "هم" not in suffixes("مستشار", "possessed_m")[1]
    assert "تهم" in suffixes("قاعده", "possessed_pl")[0:2][1] and suffixes("قاعده", "possessed_pl")[0] == "قاعد"
    assert token_spec("29").exact and token_spec("مي").exact


@pytest.mark.parametrize("text", [
    "رست سفن حربية روسية في ميناء طبرق",
    "وصلت السفن الحربية التابعة لأسطول الشمال الروسي",
    "القوات البحرية الروسية تجري مناورات",
    "مقتل 14 مرتزقاً روسياً جنوب طرابلس",
    "روسيا تنوي نشر قواتها في ليبيا",
    "نقلت روسيا منظومات دفاعها الجوي إلى الجنوب",
    "روسيا تهرب أسلحة عبر الموانئ",
    "هبطت طائرتا شحن روسيتان في القاعدة",
    "قالت مصادر إن سفنا حربية روسية رست في طبرق",
])
def test_russian_military_is_composed_without_listing_the_phrase(matcher: Matcher,
                                                                text: str) -> None:
    hits = [h for h in matcher.find(text) if h.entity == "russian_military"]
    assert hits, text
    assert len(hits[0].parts) >= 2 and text[hits[0].start:hits[0].end] == hits[0].match


def test_a_composed_hit_needs_its_parts_close_and_in_order(matcher: Matcher) -> None:
    assert "russian_military" not in entities(matcher, "هجوم بطائرة مسيرة على موسكو")
    assert "russian_military" not in entities(matcher, "أعلنت روسيا أمس أن اجتماعا عقد لبحث "
                                                       "ملف القوات")


@pytest.mark.parametrize(("text", "composed"), [
    # Far from its subject, the pronoun agrees with it and refers to the nearest possible owner.
    ("تواصل روسيا عبر شبكة من الشركات الأمنية المرتبطة بها منذ سنوات طويلة في الشرق "
     "والجنوب وفي مناطق أخرى كثيرة تعزيز حضورها في وسط البلاد", True),
    ("يحرص الكرملين الذي خسر أوراقا كثيرة أو كاد على ألا يفرط في ما بناه طوال سنوات "
     "على الأرض فطائراته لا تزال تهبط في الخادم", True),
    ("تواصل روسيا عبر شبكة من الشركات الأمنية المرتبطة بها منذ سنوات طويلة في الشرق "
     "والجنوب ، بينما تعزز تركيا حضورها في وسط البلاد", False),
    ("يحرص الكرملين الذي خسر أوراقا كثيرة أو كاد على ألا يفرط في ما بناه طوال سنوات "
     "على الأرض فيما أبقت الحكومة طائراته في المطار", True),
    ("يحرص الكرملين الذي خسر أوراقا كثيرة أو كاد على ألا يفرط في ما بناه طوال سنوات "
     "على الأرض فيما نقل حفتر طائراته إلى المطار", False),
    ("تواصل روسيا عبر شبكة من الشركات الأمنية المرتبطة بها منذ سنوات طويلة في الشرق "
     "والجنوب وفي مناطق أخرى كثيرة تعزيز حضوره في وسط البلاد", False),
])
def test_a_possessive_far_from_russia_needs_agreement_and_no_rival(matcher: Matcher, text: str,
                                                                   composed: bool) -> None:
    assert ("russian_military" in entities(matcher, text)) is composed


def test_africa_corps_of_rommel_is_excluded_and_explained(matcher: Matcher) -> None:
    result = matcher.score("", "في عام 1941 بدأ فيلق أفريقيا الألماني بقيادة رومل حصار طبرق")
    assert "africa_corps" not in {h.entity for h in result.hits}
    assert any(h.entity == "africa_corps" and "ww2_context" in why for h, why in result.suppressed)
    assert "africa_corps" in entities(matcher, "عناصر فيلق أفريقيا الروسي في قاعدة الجفرة")


def test_emergencies_ministry_plane_and_another_owner_are_not_military(matcher: Matcher) -> None:
    aid = matcher.score("", "هبطت في مطار بنينا طائرة إليوشن-76 تابعة لوزارة الطوارئ الروسية "
                            "تحمل فرق إنقاذ ومساعدات إنسانية لمنكوبي درنة")
    assert not aid.alert
    owned = matcher.score("", "دمرت قوات حفتر طائرة شحن من طراز إليوشن-76 روسية الصنع "
                              "مملوكة لشركة أوكرانية في مطار مصراتة")
    assert not owned.alert and "russia" not in {h.entity for h in owned.hits}


def test_an_outlet_named_after_libya_is_not_libya(matcher: Matcher) -> None:
    result = matcher.score("", "قالت قناة ليبيا الأحرار إن القوات الروسية في سوريا انسحبت من "
                               "قاعدة القامشلي")
    assert "libya" not in {h.entity for h in result.hits} and not result.alert


def test_items_of_a_press_review_are_not_near_each_other(matcher: Matcher) -> None:
    review = ("أبرز العناوين: • البرلمان الليبي يرجئ جلسته في بنغازي. • وصول قوات روسية إلى "
              "مطار نيامي في النيجر لدعم المجلس العسكري.")
    assert not matcher.score("", review).alert
    story = "وصول قوات روسية إلى قاعدة الجفرة الليبية لدعم قوات حفتر"
    assert matcher.score("", story).alert


@pytest.mark.parametrize("title", ["موجز الأنباء", "جولة في الصحف", ""])
def test_a_digest_judges_each_item_alone(matcher: Matcher, title: str) -> None:
    # Items written as plain sentences or run on with "؛": a digest heading (in the title or
    # the first words) makes every sentence end an item break.
    lead = "" if title else "حصاد الأسبوع في سطور: "
    items = ("المصرف المركزي الليبي في طرابلس يرفع سقف السحب النقدي؛ البحرية الروسية تجري "
             "مناورات في شرق المتوسط بمشاركة فرقاطتين وغواصة؛ تونس تعلن حصيلة جديدة.")
    assert not matcher.score(title, lead + items).alert
    one_item = ("تونس تعلن حصيلة جديدة؛ سفن حربية روسية ترسو في ميناء طبرق الليبي وسط تكتم من "
                "القيادة العامة؛ الجزائر تستضيف منتدى الطاقة.")
    assert matcher.score(title, lead + one_item).alert
    # Not a digest: the same sentences are one story, whose parts may be far apart.
    assert matcher.score("", items).alert


def test_hostile_repetition_stays_linear(matcher: Matcher) -> None:
    # One automaton pass plus work per hit: 20,000 composed hits, and a single 400,000-letter
    # token made of a stem (every stem hit rejected by the length check) both finish.
    hits = matcher.find("قوات روسية في طبرق " * 20_000)
    assert sum(h.entity == "russian_forces" for h in hits) == 20_000
    assert matcher.find("روسي" * 100_000) == []


RULE = """\
entities:
  - id: a
    aliases: [الفا]
  - id: b
    aliases: [بيتا]
{extra}
rules:
  - id: r
    any: [a]
    threshold: 1
"""


@pytest.mark.parametrize(("extra", "line", "reason"), [
    ("  - id: c\n    inflect: plural\n    aliases: [جاما]", 7, "bad inflect"),
    ("  - id: c\n    compose:\n      - {parts: [a], within: 2}", 8, "two or more"),
    ("  - id: c\n    compose:\n      - {parts: [a, zz], within: 2}", 6, "unknown entity"),
    ("  - id: c\n    compose:\n      - {parts: [a, b], within: 0}", 8, "bad within"),
    ("  - id: c\n    compose:\n      - {parts: [a, b], within: 2, rivals: zz}", 6,
     "unknown entity"),
    ("  - id: c\n    compose:\n      - {parts: [a, b], within: 2, rivals: [a]}", 8,
     "'rivals' must be one"),
    ("  - id: c\n    compose:\n      - {parts: [a, b], within: 2, ordered: false, rivals: a}",
     8, "exactly two ordered parts"),
    ("  - id: c\n    aliases: [جاما]\n    unless:\n      - {near: b}", 9, "needs near and within"),
    ("  - id: c\n    aliases: [جاما]\n    compose:\n      - {parts: [a, b], within: 2}", 8,
     "either aliases or compose"),
    ("  - id: c\n    compose:\n      - {parts: [a, d], within: 2}\n"
     "  - id: d\n    compose:\n      - {parts: [c, b], within: 2}", 6, "cycle"),
])
def test_new_syntax_is_validated_with_file_and_line(tmp_path: Path, extra: str, line: int,
                                                    reason: str) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(RULE.format(extra=extra), encoding="utf-8")
    with pytest.raises(RulesError) as info:
        load_rules(path)
    problems = info.value.problems or [info.value]
    assert any(reason in str(p) and p.line == line and str(path) in str(p) for p in problems), \
        [str(p) for p in problems]


def test_alias_overrides_and_numbers(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("entities:\n  - id: a\n    inflect: none\n"
                    "    aliases: [{alias: قوة, inflect: noun}, 1941]\n"
                    "rules:\n  - id: r\n    any: [a]\n    threshold: 1\n", encoding="utf-8")
    m = Matcher(load_rules(path))
    assert [h.match for h in m.find("قواتها في 1941")] == ["قواتها", "1941"]
