"""Round five's readings: a headline shares its text's exclusions, a text is read after its
headline's contexts, a Russian coach of a team, Soviet warships of the past, a cargo of
goods unloaded onto military trucks, and the Syrian Observatory as a source."""

from __future__ import annotations

from monitor.match import Matcher
from monitor.match.model import ScoreResult


def suppressed_by(result: ScoreResult) -> list[tuple[str, str]]:
    """(entity, the context that suppressed it) for each suppressed hit, in order."""
    return [(h.entity, why.split()[0]) for h, why in result.suppressed]


def test_a_headline_name_goes_with_its_texts_excluded_mentions(matcher: Matcher) -> None:
    # The text places the corps in 1942 with Rommel, further into it than any context of the
    # lede reaches the headline; the headline names it alone.
    title = "«الفيلق الأفريقي» ومعارك البريقة.. صفحة من الذاكرة"
    history = ("يعود الكاتب في هذه الصفحة إلى سنوات بعيدة من تاريخ المدينة الساحلية الصغيرة، "
               "ويروي ما سمعه من كبار السن عن البيوت والأسواق والمرفأ القديم وعن الطرق التي "
               "كانت تربطها بالواحات، وعن القوافل والتجار والصيادين الذين عاشوا فيها قبل أن "
               "تتغير ملامحها. في ربيع عام 1942 دفع «الفيلق الأفريقي» الألماني بقيادة روميل "
               "بدباباته نحو البريقة")
    result = matcher.score(title, history)
    assert not result.alert
    assert any(h.field == "title" and why.startswith("as in the text")
               for h, why in result.suppressed)
    # A text that also names the corps today keeps the headline's mention.
    today = (history + ". واليوم يعلن الفيلق الأفريقي الروسي نشر وحدات جديدة في قاعدة "
             "الجفرة الليبية")
    assert matcher.score(title, today).alert


def test_a_text_is_read_after_its_headlines_theatre(matcher: Matcher) -> None:
    title = "كمين يوقع قتلى في صفوف القوات الروسية شمال مالي"
    text = ("قتل عدد من عناصر القوات الروسية وجنود ماليين في كمين قرب الحدود مع الجزائر. "
            "وتنشط في المنطقة شبكات تهريب الوقود التي تمتد حتى الجنوب الليبي عبر النيجر "
            "والصحراء الكبرى منذ سنوات طويلة وفق تقارير محلية متعددة")
    assert not matcher.score(title, text).alert
    # With Libya in the headline the same opening stays a Libyan story.
    assert matcher.score("القوات الروسية تنتقل من مالي إلى قاعدة الجفرة في ليبيا",
                         "وصل عناصر القوات الروسية إلى قاعدة الجفرة الليبية").alert


def test_a_russian_coach_of_a_team_is_sport(matcher: Matcher) -> None:
    assert not matcher.score("نادي الأهلي بنغازي يتعاقد مع مدرب روسي",
                             "أعلن نادي الأهلي في بنغازي الليبية التعاقد مع مدرب روسي لقيادة "
                             "الفريق الأول في الدوري").alert
    assert matcher.score("", "مدربون روس يشرفون على تدريب قوات حفتر في قاعدة الجفرة "
                             "الليبية على منظومات الدفاع الجوي").alert


def test_soviet_warships_are_history(matcher: Matcher) -> None:
    text = ("وتروي الوثائق أن موسكو اكتفت يومها ببيان، وظهرت سفن حربية سوفيتية في المياه "
            "الليبية قبالة طرابلس")
    result = matcher.score("", text)
    assert not result.alert
    assert suppressed_by(result) == [
        ("military_term", "soviet_context")]
    assert "military_term" in {h.entity for h in matcher.score(
        "", text.replace("سوفيتية", "روسية")).hits}


def test_goods_unloaded_onto_military_trucks_stay_military(matcher: Matcher) -> None:
    text = ("نقلت حاويات مغلقة من طائرة شحن روسية إلى شاحنات عسكرية في مطار بنينا "
            "الليبي تحت حراسة مشددة")
    assert matcher.score("", text).alert
    assert not matcher.score("", text.replace("إلى شاحنات عسكرية", "إلى مخازن التجار")
                             .replace(" تحت حراسة مشددة", "")).alert


def test_the_syrian_observatory_is_a_source_not_a_theatre(matcher: Matcher) -> None:
    text = ("أفاد المرصد السوري بأن مجموعة فاغنر جندت "
            "خلال الأسابيع الماضية عشرات الشبان من الأرياف الفقيرة بعقود شهرية مغرية تصل إلى "
            "ألف دولار للفرد، ونقلتهم جوا عبر رحلات ليلية متتالية إلى مدينة بنغازي للقتال إلى "
            "جانب قوات حفتر")
    result = matcher.score("", text)
    assert result.alert and not result.suppressed


def test_russian_gunmen_are_russian_forces(matcher: Matcher) -> None:
    text = "قال سكان في سبها الليبية إن مسلحين روسا انتشروا حول المطار منذ أيام"
    assert "russian_military" in {h.entity for h in matcher.score("", text).hits}
    assert matcher.score("", text).alert


def test_the_russian_defence_ministrys_ships_by_name(matcher: Matcher) -> None:
    text = ("رست السفينة «أورسا ميجور» في ميناء طبرق الليبي، وأظهرت صور تفريغ شاحنات مغطاة "
            "تحت حراسة")
    result = matcher.score("", text)
    assert result.alert and "russian_mod_ships" in {h.entity for h in result.hits}
    syria = "رست السفينة «أورسا ميجور» في ميناء طرطوس السوري لتحميل معدات"
    assert not matcher.score("", syria).alert


def test_russians_in_libya_as_statements_say_it(matcher: Matcher) -> None:
    denial = "قال المتحدث باسم الكرملين إنه إذا كان هناك روس في ليبيا فإنهم لا يمثلون الدولة"
    assert matcher.score("بيسكوف ينفي", denial).alert
    # Russians and Libyans side by side are not "Russians in Libya".
    scholars = "شارك في المؤتمر باحثون روس وليبيون في معهد الاستشراق بموسكو حول الرواية الليبية"
    assert "russians_in_libya" not in {h.entity for h in matcher.score("", scholars).hits}


def test_russian_made_equipment_of_the_tripoli_side_is_not_russian(matcher: Matcher) -> None:
    text = ("نقلت مروحية من طراز مي-17 الروسية الصنع تابعة لحكومة الوحدة الوطنية مصابين من "
            "مصراتة إلى طرابلس")
    result = matcher.score("", text)
    assert not result.alert
    assert suppressed_by(result) == [
        ("russian_made", "other_owner_context")]


def test_more_press_review_headings(matcher: Matcher) -> None:
    items = ("البرلمان الليبي يقر الميزانية. الجيش الروسي يعلن السيطرة على بلدة في دونيتسك. "
             "المؤسسة الوطنية للنفط في ليبيا ترفع الإنتاج")
    assert matcher.score("", items).alert      # no heading: read as one story
    assert not matcher.score("", "أهم العناوين: " + items).alert
    assert not matcher.score("الصحافة المغربية", items).alert
    review = ("في صحيفة «التايمز» تقرير عن غواصة روسية قرب المياه البريطانية. أما «الغارديان» "
              "فنشرت تحقيقا عن قارب مهاجرين انطلق من سواحل زوارة الليبية")
    assert not matcher.score("", review).alert


def test_a_page_named_after_libya_is_an_outlet(matcher: Matcher) -> None:
    text = ("تداولت صفحة «ليبيا الآن» مقطعا لاستهداف زورق مسير أوكراني سفينة إنزال روسية في "
            "البحر الأسود")
    assert not matcher.score("", text).alert


def test_the_attacking_forces_are_no_striker(matcher: Matcher) -> None:
    text = ("قال مسؤولون في طرابلس إن قناصة من مجموعة فاغنر الروسية وصلوا إلى صفوف القوات "
            "المهاجمة جنوب العاصمة الليبية")
    assert matcher.score("", text).alert


def test_guards_and_foreigners_speaking_russian(matcher: Matcher) -> None:
    assert matcher.score("", "قال عمال في ميناء السدرة الليبي إن حراسا روسا يتولون تأمين "
                             "البوابة الرئيسية").alert
    assert matcher.score("", "يقول سكان ترهونة الليبية إن عشرات الأجانب كانوا يقيمون في المدرسة "
                             "ويتحدثون الروسية ولا يخرجون إلا ليلا").alert
