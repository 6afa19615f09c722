"""Readings that generalise beyond listed phrases: a person who shares a name, Cold War
history, "<anything> عسكري روسي", Russia at a Libyan base, digests strung together with "و"."""

from __future__ import annotations

import pytest

from monitor.match import Matcher


def found(matcher: Matcher, text: str) -> set[str]:
    return {h.entity for h in matcher.score("", text).hits}


@pytest.mark.parametrize("text", [
    "وقع نادي الاتحاد الليبي في طرابلس مع المهاجم البرازيلي فاغنر لمدة موسمين",
    "حضر الخبير الألماني كارل فاغنر ندوة عن الطاقة الشمسية في بنغازي",
    "عزفت الأوركسترا مقطوعات من أوبرات فاغنر على مسرح في طرابلس",
])
def test_a_person_called_wagner_is_not_the_group(matcher: Matcher, text: str) -> None:
    result = matcher.score("", text)
    assert not result.alert and "wagner" not in {h.entity for h in result.hits}
    assert any(h.entity == "wagner" for h, _ in result.suppressed)    # and it is explained


def test_the_group_named_by_an_american_is_still_the_group(matcher: Matcher) -> None:
    # A nationality excludes only right before the name: here the Americans are the speakers.
    text = "قال مسؤولون أمريكيون إن مرتزقة فاغنر ما زالوا ينتشرون في قاعدة الجفرة الليبية"
    assert "wagner" in found(matcher, text) and matcher.score("", text).alert


def test_cold_war_history_is_not_russian_activity(matcher: Matcher) -> None:
    raid = ("في ذكرى غارة 1986 على طرابلس وبنغازي، يروي ضباط ليبيون كيف عجزت صواريخ الدفاع "
            "الجوي السوفيتية الصنع عن اعتراض الطائرات الأمريكية")
    assert not matcher.score("", raid).alert
    # Soviet-made equipment serviced today is not history.
    today = ("قال مصدر عسكري إن خبراء روسا يصلحون معدات سوفيتية الصنع لقوات حفتر في قاعدة "
             "الجفرة هذا الشهر")
    assert matcher.score("", today).alert


@pytest.mark.parametrize("phrase", ["تموضع عسكري روسي", "نشاط عسكري روسي", "حراك عسكري روسي",
                                    "الأكاديمية العسكرية الروسية"])
def test_any_noun_that_is_military_and_russian(matcher: Matcher, phrase: str) -> None:
    text = f"رصدت مصادر محلية {phrase} متزايدا قرب سرت في وسط ليبيا"
    assert "russian_support" in found(matcher, text)
    assert matcher.score("", text).alert


def test_russia_at_a_libyan_airbase(matcher: Matcher) -> None:
    assert matcher.score("روسيا تحول قاعدة تمنهنت إلى مركز إمداد", "").alert
    # Benina is also Benghazi's civil airport: a Moscow flight there is not military.
    assert not matcher.score("", "أول رحلة مباشرة بين مطار بنينا الدولي وموسكو منذ عقد").alert


def test_a_digest_strung_with_and_judges_each_item(matcher: Matcher) -> None:
    text = ("في ملفات الأسبوع: خلاف جديد حول قانون الانتخابات الليبي، وإعلان الفيلق الأفريقي "
            "الروسي تعزيز وجوده في شمال مالي، إضافة إلى فيضانات في النيجر.")
    assert not matcher.score("ملفات الأسبوع", text).alert
    assert matcher.score("", text.replace("في شمال مالي", "في الجفرة")).alert


def test_a_supplier_named_as_the_owner(matcher: Matcher) -> None:
    text = ("دمرت مسيرة تركية منظومة بانتسير كانت الإمارات قد زودت بها قوات حفتر في قاعدة "
            "الوطية")
    assert "pantsir" not in found(matcher, text)


def test_russia_a_few_words_from_soldiers_or_flights(matcher: Matcher) -> None:
    text = ("يتقاسم أبناء حفتر السلطة في الشرق الليبي، غير أن الورقة الأهم تبقى علاقتهم "
            "بموسكو، التي تحتفظ بنحو ألفي عسكري في قواعد الجفرة")
    result = matcher.score("", text)
    assert "russian_military_near" in {h.entity for h in result.hits} and result.alert
    # Further apart, the soldiers are nobody's in particular.
    far = ("زار وفد من موسكو طرابلس لبحث صفقات القمح والأسمدة وتسهيل التأشيرات للطلاب "
           "والتجار ورجال الأعمال الليبيين، فيما نشرت الحكومة جنودا في الجنوب")
    assert "russian_military_near" not in {h.entity for h in matcher.score("", far).hits}


def test_russian_made_arms_of_another_state_are_not_russian(matcher: Matcher) -> None:
    text = ("حلقت مقاتلات ميغ-29 المصرية قرب الحدود مع ليبيا، وكانت القاهرة قد تسلمت "
            "المقاتلات الروسية الصنع ضمن صفقة سابقة")
    assert not matcher.score("", text).alert
    assert "russian_arms" not in found(matcher, text)


def test_a_lebanese_tripoli_stays_lebanese_through_the_story(matcher: Matcher) -> None:
    text = ("رست سفينة روسية في مرفأ طرابلس شمال لبنان في زيارة قصيرة، واستقبل ممثلون عن "
            "إدارة المرفأ طاقمها في حفل حضره نواب ووجهاء ورجال أعمال من المدينة والجوار. "
            "وكانت طرابلس قد شهدت نشاطا متزايدا لسفن الشحن القادمة من البحر الأسود")
    assert "tripoli_ly" not in found(matcher, text) and not matcher.score("", text).alert


def test_she_after_moscow_is_russia_acting(matcher: Matcher) -> None:
    text = ("لا تخفي موسكو بحثها عن بديل لطرطوس على الساحل الجنوبي للمتوسط، ويقول دبلوماسيون "
            "غربيون إنها أوفدت فريقا من ضباط البحرية إلى طبرق لمعاينة الميناء")
    assert "russian_military" in found(matcher, text) and matcher.score("", text).alert
    # Another state between Moscow and the pronoun is the pronoun's antecedent.
    rival = ("لا تخفي موسكو بحثها عن بديل لطرطوس، بينما تقول أنقرة إن تركيا لن تقبل بذلك، "
             "ويقول دبلوماسيون إنها أوفدت فريقا من ضباط البحرية إلى مصراتة")
    assert "russian_military" not in found(matcher, rival)


def test_libya_as_a_neighbour_is_not_the_setting(matcher: Matcher) -> None:
    text = ("وصل إلى نيامي فريق من المدربين العسكريين الروس، والنيجر التي تتقاسم حدودا صحراوية "
            "طويلة مع ليبيا تلجأ إلى الدعم العسكري الروسي")
    assert "libya" not in found(matcher, text) and not matcher.score("", text).alert


def test_russian_made_civilian_trucks_are_trade(matcher: Matcher) -> None:
    text = ("تسلمت شركة الخدمات العامة في بنغازي 300 شاحنة روسية الصنع من طراز كاماز لجمع "
            "القمامة ضمن صفقة قيمتها 18 مليون دولار")
    assert not matcher.score("", text).alert


def test_a_headline_is_read_just_before_its_text(matcher: Matcher) -> None:
    # The Russian cue in the headline, the Libyan setting in the text's first sentence.
    title = "تسليم جثتي مقاتلين روسيين عبر وسطاء محليين"
    text = ("كشف مصدر أمني في مصراتة أن جثتي المقاتلين اللذين قتلا في محور عين زارة سلمتا "
            "إلى الطرف الآخر")
    assert matcher.score(title, text).alert
    assert not matcher.score("", text).alert and not matcher.score(title, "").alert
    # A digest's headline lists items: it is not read with the text as one story.
    digest = "موجز الصباح: مقاتلون روس في ماريوبول"
    assert not matcher.score(digest, "المؤسسة الوطنية للنفط في طرابلس ترفع الإنتاج.").alert


def test_defence_cooperation_is_military(matcher: Matcher) -> None:
    text = ("قال نائب عن طبرق إن المجلس لا يمانع توقيع اتفاقية تعاون دفاعي مع روسيا تشمل "
            "التدريب والتسليح وتطوير الموانئ")
    assert matcher.score("", text).alert
