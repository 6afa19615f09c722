"""Round four's readings: a word that starts like the article, lede contexts for the headline,
digest headlines, Russian experts at a civilian worksite, venues called Moscow, the
diplomat's "Russian", Russian trade goods, and "the Russians" near a Libyan airbase."""

from __future__ import annotations

import pytest

from monitor.match import Matcher
from monitor.match.tokens import clitic_forms


def found(matcher: Matcher, title: str, text: str) -> set[str]:
    return {h.entity for h in matcher.score(title, text).hits}


def test_a_word_that_starts_like_the_article_takes_it_again(matcher: Matcher) -> None:
    # ألماني normalises to الماني: read as written with the article, it must take it again.
    assert {"الالماني", "للالماني", "وبالالماني", "الماني"} <= set(clitic_forms("الماني"))
    for german in ("الألماني", "وبالألمانية", "للألماني"):
        result = matcher.score("", f"حاصر «الفيلق الأفريقي» {german} مدينة طبرق")
        assert not result.alert
        assert [h.entity for h, _ in result.suppressed] == ["africa_corps"]
    # An alias written with the article still needs one, and still takes its clitics.
    assert {h.match for h in matcher.find("وصلت طائرة إلى الجفرة وبالجفرة")} == {"الجفرة", "وبالجفرة"}


def test_the_ledes_war_excludes_the_headlines_corps(matcher: Matcher) -> None:
    title = "مقبرة في البريقة تروي قصة «الفيلق الأفريقي» بعد ثمانية عقود"
    history = "يعود رفات الجنود إلى الفيلق الألماني الذي قاده روميل في معارك عام 1942 قرب البريقة"
    assert not matcher.score(title, history).alert
    today = "أعلنت وزارة الدفاع الروسية أن الفيلق يتولى تدريب وحدات في البريقة"
    assert matcher.score(title, today).alert


def test_a_digest_headline_opening_with_the_papers_separates_its_items(matcher: Matcher) -> None:
    title = "صحف المغرب: الدبيبة يفتتح مستشفى في مصراتة.. وقوات روسية تقصف أوديسا"
    assert not matcher.score(title, "").alert
    title = "جولة في الصحف: انتخابات بلدية في ليبيا ومسيرات الجيش الروسي فوق كييف"
    assert not matcher.score(title, "").alert
    # Not a digest: the same words in an ordinary headline still pair.
    assert matcher.score("قوات روسية تصل إلى قاعدة الجفرة في ليبيا", "").alert


@pytest.mark.parametrize(("text", "alert"), [
    ("عاد الخبراء الروس إلى محطة الكهرباء في أوباري لتركيب توربينات جديدة", False),
    ("وصل خبراء روس إلى قاعدة الجفرة للإشراف على تشغيل منظومات الدفاع الجوي", True),
])
def test_russian_experts_at_a_worksite_or_a_base(matcher: Matcher, text: str, alert: bool) -> None:
    assert matcher.score("", text).alert is alert


def test_a_venue_called_moscow_is_not_russia(matcher: Matcher) -> None:
    text = ("أخمد الدفاع المدني حريقا في مطعم «موسكو» بوسط طرابلس ودفع بعناصره وآلياته إلى "
            "المكان")
    assert not matcher.score("", text).alert
    assert "moscow" not in found(matcher, "", text)


def test_the_ambassadors_russian_is_not_russians_at_a_base(matcher: Matcher) -> None:
    text = "التقى المشير حفتر في الرجمة السفير الروسي لبحث العملية السياسية والانتخابات"
    assert "russian_support" not in found(matcher, "", text)
    assert not matcher.score("", text).alert


def test_russian_oil_and_tankers_are_trade(matcher: Matcher) -> None:
    text = "رست ناقلات روسية محملة بالديزل الروسي قبالة بنغازي ونقلت حمولتها عبر عمليات تفريغ"
    assert not matcher.score("", text).alert


def test_the_russians_near_a_libyan_airbase_are_a_presence(matcher: Matcher) -> None:
    text = ("يقول سكان في ودان إن الروس، كما يسمونهم، لا يخرجون إلى الأسواق منذ أشهر، ولا يظهرون "
            "إلا حين تمر قوافلهم ليلا نحو البوابة الشمالية لقاعدة الجفرة")
    assert "russian_support" in found(matcher, "", text)
    assert matcher.score("", text).alert
