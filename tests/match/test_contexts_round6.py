"""Round six's readings: the bare al-Khadim, Russia as the subject of the clause that names a
base, Wagner's adjective, cooperation with Haftar's army, a neighbour named by its border,
Tsarist and Ottoman history, another state's armed forces as the operator, and a press review
that says "من الصحافة"."""

from __future__ import annotations

import pytest

from monitor.match import Matcher
from tests.match.conftest import found


def test_the_bare_khadim_is_the_base_but_a_server_is_not(matcher: Matcher) -> None:
    assert "khadim" in found(matcher, "طائرات الشحن تهبط كل ليلة في الخادم شرق بنغازي")
    assert "khadim" not in found(matcher, "تعطل الخادم الإلكتروني لموقع الوزارة ساعات")


def test_russia_as_the_subject_of_the_clause_that_names_a_base(matcher: Matcher) -> None:
    text = ("الكرملين، بعد أن خسر موطئ قدمه على الساحل السوري، يعيد التموضع بهدوء ويكثف "
            "رحلاته نحو قاعدة الجفرة")
    assert "russian_support" in found(matcher, text)
    # Another owner between the subject and the base takes it.
    rival = ("الكرملين يراقب بصمت بينما يعزز أردوغان مواقع قواته في قاعدة الوطية غرب "
             "العاصمة الليبية")
    assert "russian_support" not in found(matcher, rival)


def test_wagners_adjective_names_wagner(matcher: Matcher) -> None:
    assert "wagner" in found(matcher, "انسحبت العناصر الفاغنرية من أحياء سرت الجنوبية")
    assert "wagner" in found(matcher, "قال سكان إن الفاغنريين يتنقلون بين الجفرة وسبها")


@pytest.mark.parametrize(("text", "composed"), [
    ("قالت موسكو إنها تواصل تعاونها مع القيادة العامة في تأهيل الكوادر", True),
    ("أشاد بالتعاون الروسي مع الجيش الوطني الليبي في مكافحة الإرهاب", True),
    ("قالت موسكو إنها تواصل تعاونها مع حكومة الوحدة في مجال الطاقة", False),
])
def test_cooperation_with_haftars_army_is_support(matcher: Matcher, text: str,
                                                  composed: bool) -> None:
    assert ("russian_support" in found(matcher, text)) is composed


def test_a_neighbour_named_by_its_border_is_no_other_theatre(matcher: Matcher) -> None:
    assert "wagner" in found(matcher, "ينتشر عناصر فاغنر قرب الحدود مع السودان")
    assert "wagner" not in found(matcher, "ينتشر عناصر فاغنر في ولاية دارفور غرب السودان")


def test_malian_soldiers_name_mali(matcher: Matcher) -> None:
    text = "اتهمت منظمات حقوقية عناصر من الفيلق الأفريقي وجنودا ماليين بقتل مدنيين"
    result = matcher.score("", text)
    assert "africa_corps" in {h.entity for h, _ in result.suppressed}


def test_tsarist_and_ottoman_history_is_history(matcher: Matcher) -> None:
    past = ("حين غزت إيطاليا طرابلس الغرب كانت روسيا القيصرية تراقب المضائق وتعد سفنها "
            "الحربية في البحر الأسود، بحسب كتاب جديد عن الحرب الليبية")
    assert not matcher.score("", past).alert
    now = ("تعد روسيا سفنها الحربية للرسو في طبرق، بحسب مصادر ليبية")
    assert matcher.score("", now).alert


def test_another_states_armed_forces_own_the_russian_made_jets(matcher: Matcher) -> None:
    egyptian = ("نفذت القوات الجوية المصرية مناورة واسعة قرب الحدود الليبية بمشاركة مقاتلات "
                "حديثة ومروحيات هجومية من طراز كا-52 الروسية الصنع")
    assert "russian_made" not in found(matcher, egyptian)
    haftar = "تسلمت قوات حفتر في الجفرة مروحيات هجومية من طراز كا-52 الروسية الصنع"
    assert "russian_made" in found(matcher, haftar)


def test_a_review_of_the_press_judges_each_item(matcher: Matcher) -> None:
    text = ("صحيفة إيطالية تتابع الهجرة من سواحل شرق ليبيا. وصحيفة روسية تقول إن الفيلق "
            "الأفريقي يعزز وجوده بعد انسحابه من مالي.")
    assert not matcher.score("من الصحافة الدولية", text).alert
    assert not matcher.score("", "من الصحافة الدولية: " + text).alert


@pytest.mark.parametrize(("text", "alert"), [
    ("وصل مهندسون روس إلى قاعدة براك الشاطئ للإشراف على تمديد المدرج", True),
    ("وصل مهندسون روس إلى محطة كهرباء أوباري لتركيب توربينات جديدة", False),
    # At a named airbase, whatever they install: the base keeps them military.
    ("شهدت قاعدة تمنهنت الجوية قرب سبها خلال الأيام الماضية وصول شاحنات تحمل معدات اتصالات "
     "ومولدات كهربائية ضخمة، وأشرف خبراء روس على تركيبها", True),
])
def test_russian_engineers_at_a_base_not_at_a_power_plant(matcher: Matcher, text: str,
                                                          alert: bool) -> None:
    assert matcher.score("", text).alert is alert
    assert ("russian_experts" in found(matcher, text)) is alert




def test_the_russian_capital_is_moscow(matcher: Matcher) -> None:
    text = "أقلعت رحلات شحن من قاعدة تشكالوفسكي قرب العاصمة الروسية نحو برقة الليبية"
    assert {"moscow", "russian_airbases"} <= found(matcher, text)


@pytest.mark.parametrize(("text", "composed"), [
    ("يصف دبلوماسي غربي تمدد الروس في شرق ليبيا وجنوبها", True),
    ("تدعو السفارة المواطنين الروس المقيمين في ليبيا إلى التصويت", False),
    ("وصل سياح روس في رحلة إلى غدامس", False),
])
def test_the_russians_in_a_region_of_libya(matcher: Matcher, text: str, composed: bool) -> None:
    assert ("russians_in_libya" in found(matcher, text)) is composed


def test_the_accusative_adjective_takes_no_clitic(matcher: Matcher) -> None:
    # "ships off Libya, and Russia abstains": وروسيا is the country, never "and Russian".
    text = "يمدد المجلس تفويض تفتيش السفن قبالة ليبيا وروسيا تمتنع عن التصويت"
    assert "russian_military" not in found(matcher, text)
    # The bare accusative still agrees with its noun: مرتزقا روسيا، دعما عسكريا روسيا.
    assert "russian_military" in found(matcher, "قتل مرتزقا روسيا قرب سرت")


def test_search_forms_keep_the_bare_accusative() -> None:
    from monitor.match.forms import token_spec
    from monitor.search.query import spec_forms

    forms = spec_forms(token_spec("روسي", "nisba"), first=True)
    assert {"روسيا", "روسيه", "والروسيه", "روسيين"} <= forms
    assert "وروسيا" not in forms and "الروسيا" not in forms


def test_merchant_ships_and_the_nineteenth_century(matcher: Matcher) -> None:
    assert "russian_military" not in found(matcher, "رست السفن التجارية الروسية في ميناء طرابلس")
    assert "russian_military" in found(matcher, "رست السفن الروسية في ميناء طبرق")
    consul = ("يعرض المركز الليبي للمحفوظات وثائق من القرن التاسع عشر عن القنصل الروسي في "
              "طرابلس الغرب ومراسلاته بشأن السفن الحربية الروسية")
    assert not matcher.score("", consul).alert


def test_a_plural_title_is_no_person_of_wagners_name(matcher: Matcher) -> None:
    text = ("قال عاملون إن مسلحين من فاغنر يسيطرون على مهبط حقل الشرارة ويمنعون طائرات "
            "المهندسين من الهبوط")
    assert "wagner" in found(matcher, text)
    assert "wagner" not in found(matcher, "قال المهندس توماس فاغنر إن المشروع تأخر")



def test_the_channel_russia_today_is_no_russian_actor(matcher: Matcher) -> None:
    text = ("نقلت قناة «روسيا اليوم» عن مصدر عسكري في القيادة العامة أن وحدات من اللواء 128 "
            "تمركزت في غدامس لتأمين الحدود")
    assert "russia" not in found(matcher, text)
    assert not matcher.score("", text).alert



def test_a_possessive_on_the_head_noun_of_a_phrase(matcher: Matcher) -> None:
    text = "أرادت موسكو أن تبعث برسالة، فدخلت اثنتان من قطعها البحرية ميناء طبرق الليبي"
    assert "russian_military" in found(matcher, text)
    # The pronoun is still required: «القطع البحرية» owns nothing.
    bare = "أرادت موسكو أن تبعث برسالة، فيما دخلت القطع البحرية ميناء طبرق الليبي"
    assert "russian_military" not in found(matcher, bare)


def test_the_sukhoi_airliner_is_no_warplane(matcher: Matcher) -> None:
    text = ("عرضت الشركة الروسية المصنعة لطائرة الركاب سوبرجيت، المعروفة سابقا باسم سوخوي "
            "للطائرات المدنية، نموذجا في مطار بنينا")
    assert "sukhoi" not in found(matcher, text)
    assert "sukhoi" in found(matcher, "رصدت طائرات سوخوي روسية في قاعدة الجفرة")


@pytest.mark.parametrize("text", [
    # National unity is no military unit; the Unknown Soldier is no soldier.
    "التقى وزير الخارجية في حكومة الوحدة الوطنية نظيره الروسي لبحث ملف الهجرة في ليبيا",
    "وضع سفير ليبيا لدى روسيا الاتحادية إكليلا على ضريح الجندي المجهول في موسكو",
    # "Defensive" (الدفاعية) is no "his defence".
    "عرضت الشركة الروسية التابعة لمؤسسة روستيخ المعروفة بصناعاتها الدفاعية تأهيل محطة كهرباء "
    "الزويتينة في ليبيا",
    # Libya as a simile; a Libyan national in Syria.
    "حذر مسؤول أوكراني من أن بقاء القوات الروسية سيحول أوكرانيا إلى ليبيا جديدة",
    "قتل قيادي ليبي الجنسية في غارة نفذتها مقاتلات روسية على ريف إدلب",
    # A digest whose items are marked with emoji.
    "ملخص اليوم 📌 الجيش الروسي يقصف خاركيف 📌 الدبيبة يلتقي سفيرة بريطانيا في طرابلس 📌 "
    "مالي: هجوم على قافلة للفيلق الأفريقي",
    # A wedding hall called the Kremlin; a football club called CSKA Moscow.
    "اندلع حريق في قاعة الكرملين للأفراح بتاجوراء قرب الكلية العسكرية في طرابلس",
    "يتابع نادي سسكا موسكو مهاجم المنتخب الليبي ونادي الأهلي طرابلس",
])
def test_round_six_hard_negatives(matcher: Matcher, text: str) -> None:
    assert not matcher.score("", text).alert



def test_the_caucasus_and_algiers_are_other_theatres(matcher: Matcher) -> None:
    text = "أكملت قوات حفظ السلام الروسية انسحابها من إقليم قره باغ، بحسب تقرير نشر في ليبيا"
    assert "russian_forces" not in found(matcher, text)
    port = "رست سفن حربية روسية في ميناء الجزائر في زيارة تتضمن تمرينا، كما أفاد موقع ليبي"
    assert "russian_military" not in found(matcher, port)


def test_a_russian_type_is_russian_made(matcher: Matcher) -> None:
    text = ("ظهرت في تدريبات قرب الجفرة ناقلات جند مدرعة لم يكن هذا الطراز الروسي منها ضمن "
            "تسليح القيادة العامة")
    assert "russian_made" in found(matcher, text)


def test_she_after_moscow_across_a_parenthesis(matcher: Matcher) -> None:
    text = ("تخشى واشنطن أن تتحول ليبيا إلى قاعدة متقدمة لموسكو. فهي، بحسب مسؤول في البنتاغون "
            "تحدث شريطة عدم الكشف عن هويته، نقلت خلال الشهرين الماضيين مئات العناصر")
    assert "russian_military" in found(matcher, text)


@pytest.mark.parametrize(("text", "entities"), [
    # The Nasser (al-Adem) air base south of Tobruk.
    ("وصل فنيون روس إلى قاعدة جمال عبد الناصر الجوية وباشروا تركيب رادار جديد",
     {"nasser_base"}),
    # Forces affiliated with the Kremlin.
    ("رصدت واشنطن عناصر تابعة للكرملين تستخدم مطارات شرق ليبيا محطات لوجستية",
     {"russian_military"}),
    # The General Command's own words, the defence ministry "of the Russian Federation".
    ("التقى السيد القائد العام وفدا من وزارة الدفاع بجمهورية روسيا الاتحادية برئاسة "
     "الفريق أول يونس بك يفكوروف", {"lna", "russian_mod", "yevkurov"}),
    # A Russian spokesman denying soldiers in Libya.
    ("رفضت المتحدثة باسم الخارجية الروسية ماريا زاخاروفا ما وصفته بالاتهامات المتكررة "
     "بإرسال عسكريين إلى ليبيا", {"russian_military_near"}),
    # Moscow's "military-technical" term.
    ("قال الكرملين إن بوتين بحث مع المشير خليفة حفتر الوضع في ليبيا وقضايا التعاون "
     "الثنائي بما فيها المجال العسكري التقني", {"military_cooperation"}),
])
def test_round_six_positives_name_what_they_found(matcher: Matcher, text: str,
                                                   entities: set[str]) -> None:
    assert entities <= found(matcher, text)
    assert matcher.score("", text).alert
