"""Round seven's readings: no pronoun after the article, contexts that stand on one side, "she"
as an antecedent, datelines and slashes, and the words seven more writers used."""

from __future__ import annotations

import pytest

from monitor.match import Matcher
from monitor.match.forms import token_spec
from tests.match.conftest import found


def test_a_noun_after_the_article_takes_no_pronoun() -> None:
    spec = token_spec("تشكيل", "noun")
    assert spec.accepts("", "ي") and spec.accepts("و", "ها")      # تشكيلي "my formation"
    assert not spec.accepts("ال", "ي") and not spec.accepts("بال", "ها")
    assert spec.accepts("ال", "ات") and spec.accepts("لل", "")
    assert token_spec("قناص", "noun").accepts("ال", "ه")            # القناصة: snipers
    assert not token_spec("قوات", "possessed").accepts("ال", "ها")


# (text, entity, found): each reading and a sentence it must leave alone.
CASES = [
    # التشكيلي is "plastic" (arts), not تشكيل "formation" + ي
    ("افتتح في بنغازي معرض للفن التشكيلي الروسي بحضور مسؤولين محليين", "russian_military",
     False),
    ("وصلت إلى الجنوب الليبي تشكيلات روسية جديدة من المقاتلين", "russian_military", True),
    # "the Russian leadership" is Russia as a subject
    ("تسعى القيادة الروسية، وقد تعلمت من تجربتها الطويلة والمريرة مع حليف واحد أن الرهان "
     "على شخص بعينه محفوف بالمخاطر، إلى ضمان استمرار حضورها العسكري في شرق ليبيا",
     "russian_military", True),
    # Russians who fight, who speak in Russian
    ("اعترف المسؤول بأن روسا يقاتلون في ليبيا لكنه نفى أي صلة لهم بالدولة", "russian_military",
     True),
    ("شوهد مسلحون يتكلمون بالروسي قرب بوابة مطار سبها", "russian_military", True),
    # Russian personnel and hangars; the Russian community is neither
    ("تحدث السكان عن وصول أفراد روس إلى قاعدة تمنهنت مع معدات اتصال", "russian_military", True),
    ("رصدت الصور حظيرتين روسيتين في الطرف الشمالي من المدرج", "russian_military", True),
    ("احتفل أفراد الجالية الروسية في طرابلس بعيد رأس السنة", "russian_military", False),
    # "strongly"; airliners; an institution; an embargo
    ("ما زال ذلك الدرس حاضرا بقوة في الخطاب الروسي الرسمي عن ليبيا", "russian_military", False),
    ("عرضت الشركة الطائرات المدنية الروسية على الخطوط الليبية", "russian_military", False),
    ("تساءل عن علاقة يمكن أن تبنيها روسيا مع مؤسسة عسكرية جديدة", "russian_military_near",
     False),
    ("مدد مجلس الأمن العمل بحظر الأسلحة على ليبيا مع امتناع روسيا عن التصويت",
     "russian_military_near", False),
    # engineering teams
    ("قالت مصادر محلية إن فرقا هندسية روسية تشرف على تأهيل المدرج", "russian_experts", True),
    # a disaster and its rescuers are humanitarian
    ("وصل خبراء الإنقاذ الروس إلى درنة للمساعدة في انتشال ضحايا الفيضانات", "russian_experts",
     False),
    # interference in an election is not military
    ("عاد الجدل حول التدخل الروسي في الانتخابات الأمريكية إلى المناظرة", "russian_support",
     False),
    # a presence noun follows its verb
    ("انتقد هيمنة التدخلات الغربية، ويقدم موسكو شريكا يحترم سيادة الدول", "russian_support",
     False),
    ("قدمت موسكو دعما عسكريا متزايدا لقوات الشرق الليبي", "russian_support", True),
    # RUSI, the London institute
    ("قال باحث في معهد «روسي» البريطاني إن الممر يربط الموانئ بالداخل", "russia", False),
    # the Brak spelling with يء, and the Superjet without ي
    ("هبطت طائرات الشحن في براك الشاطيء ثم أقلعت جنوبا", "brak", True),
    ("عرضت الشركة طائرات سوخوي سوبرجت على الناقل الوطني", "sukhoi", False),
    # a title or an advert names a person or a brand called Wagner
    ("قال النائب فاغنر إن برلين مستعدة لتمويل برامج العودة الطوعية", "wagner", False),
    ("وصلت الدفعة الجديدة من المسدسات ✅ الضمان سنتين والتوصيل لكل المناطق #فاغنر", "wagner",
     False),
    ("قال السكان إن عناصر فاغنر انسحبوا من المدينة ليلا", "wagner", True),
    # the corps transliterated, and a team of that name
    ("قالت المصادر إن «أفريكا كوربس» أرسل دفعة من العناصر إلى الجفرة", "africa_corps", True),
    ("فاز فريق «أفريكا كوربس» ببطولة الألعاب الإلكترونية على فريق ليبي", "africa_corps", False),
    # an outlet named after the capital; Libya as a precedent
    ("نقلت منصة «طرابلس بوست» عن وكالة روسية خبر المناورات", "tripoli_ly", False),
    ("قال بوتين إنه لن يسمح بتكرار سيناريو ليبيا في أي مكان", "libya", False),
    # Russia's sealift ports; crews
    ("تتبع التقرير شحنات ذخيرة انطلقت من ميناء نوفوروسيسك نحو طبرق", "russian_military_near",
     True),
    ("نقلت منصات إطلاق إلى الجنوب الليبي برفقة أطقمها الروسية", "russian_military", True),
    # Russia's European front is another theatre
    ("أعلنت موسكو تعزيز القوات الروسية في شبه جزيرة القرم", "russian_military", False),
    # election observers are no military experts
    ("بحث السفير مع المفوضية الانتخابات البلدية وإمكانية مشاركة خبراء روس في المراقبة",
     "russian_experts", False),
    # Russian flags on armour; Russia by its cities and by a columnist's name for Putin
    ("رأى السائق مدرعات وشاحنات، وعلى بعضها العلم الروسي صغيرا قرب الباب", "russian_military",
     True),
    ("التحق طلاب ليبيون بمدرسة الطيران العسكري في كراسنودار", "russian_cities", True),
    ("لم ينس القيصر الروسي ما جرى في 2011", "putin", True),
    # the bare Brak, and the US envoy called Barrack
    ("قال المصدر إن غرفة العمليات تدار من براك منذ الصيف", "brak", True),
    ("قال المبعوث الأمريكي توم براك إن القرار سوري، وأضاف براك أن واشنطن تتابع", "brak",
     False),
    # the drawer is no town; the district's dates are no airbase
    ("يعيده إلى الدرج كلما انتهت الأزمة", "libya_towns", False),
    ("وصلت شحنات تمور الجفرة إلى الأسواق في آسيا الوسطى", "jufra", False),
    # Russia's UN envoy, Russian markets, a call for calm, the 1990s
    ("امتنعت روسيا عن التصويت على تفتيش السفن للاشتباه بنقلها أسلحة، وقال المندوب الروسي إن "
     "العملية انتقائية", "russian_military", False),
    ("تطرق تمور الواحات أبواب السوق الروسية للمرة الأولى", "russia", False),
    ("دعت الخارجية الروسية إلى الوقف الفوري لإطلاق النار والامتناع عن استخدام الأسلحة الثقيلة "
     "في طرابلس", "military_term", False),
    ("قال إن الخبراء الروس غادروا المركز تدريجيا بعد الحظر الدولي في التسعينيات",
     "russian_experts", False),
    # a frigate in Oran is in Algeria
    ("رست فرقاطة روسية في ميناء وهران للمشاركة في تمرين مع البحرية الجزائرية", "russian_military",
     False),
    # her soldiers (عسكرييها); a military cargo flight; Tamanhint spelled with ي
    ("تعتزم روسيا، وفق مصادر أمنية غربية تحدثت للصحيفة، مضاعفة عدد عسكرييها في القاعدتين قبل "
     "نهاية السنة", "russian_military", True),
    ("وصلت رحلة شحن عسكرية جديدة إلى المطار", "military_term", True),
    ("قال شهود من بلدة تمنهينت إن الطائرات تهبط ليلا", "tamanhint", True),
    # Russia's soldiers in the construct state; its fleets by name; the medical journal
    ("قال المهندسون إن عسكريي روسيا المتمركزين قرب المطار لا يتدخلون", "russian_military", True),
    ("رست سفن من أسطول البحر الأسود في ميناء طبرق", "russian_fleets", True),
    ("نشرت مجلة «لانسيت» الطبية دراسة عن السل في مراكز الاحتجاز", "russian_guided", False),
    # oil exploration and medicines are civilian; Wagner Oil is a Texan firm
    ("قال المسؤول إن الفرق الفنية الروسية ستبدأ مراجعة البيانات الزلزالية لاستئناف الاستكشاف",
     "russian_experts", False),
    ("أدرجت المؤسسة شركة «فاغنر أويل» الأمريكية بين الشركات المؤهلة", "wagner", False),
    # coordination between the Russians and Haftar's forces; drone operators
    ("يرى الباحث أن التنسيق بين الروس وقوات حفتر في الجنوب تجاوز المصالح", "russian_support",
     True),
    ("قال ضابط إنها أطلقت من داخل الأراضي الليبية حيث يعمل مشغلون روس", "russian_military", True),
    # «الأوركسترا» alone is Wagner's nickname; a conductor is music
    ("نشرت القناة صورا لمقاتلي «الأوركسترا»، الاسم المتداول لفاغنر، قرب طرابلس", "wagner", True),
    ("حوار مع قائد أوركسترا: هل الجمهور مستعد لسماع فاغنر؟", "wagner", False),
]


@pytest.mark.parametrize(("text", "entity", "expected"), CASES)
def test_round_seven_readings(matcher: Matcher, text: str, entity: str, expected: bool) -> None:
    assert (entity in found(matcher, text)) is expected


def test_she_after_moscow_is_the_antecedent_of_her_fleet(matcher: Matcher) -> None:
    # «أسطولها» stands more than 40 tokens after Moscow, but near the «فهي» that follows it.
    text = ("لا تتحدث موسكو كثيرا في العلن عن خططها في شمال القارة الأفريقية وجنوب البحر "
            "المتوسط، لكن الدبلوماسيين الأوروبيين في العواصم المعنية يعرفون جيدا ما الذي "
            "تريده منذ سنوات طويلة. فهي تبحث منذ مدة عن مرفأ دافئ على الضفة الجنوبية، وتأمل "
            "أن يمنح رصيف ثابت في طبرق الليبية أسطولها نقطة ارتكاز دائمة قرب أوروبا")
    assert "russian_military" in found(matcher, text)
    # «لكنها» is "but she" too.
    assert "russian_military" in found(
        matcher, "تتحرك موسكو بهدوء في الجنوب الليبي، لكنها ترسل طائرات الشحن كل ليلة")


def test_he_after_the_kremlin_reaches_the_base(matcher: Matcher) -> None:
    # The base stands more than 25 tokens after the Kremlin, but near the «فهو» for it.
    text = ("يبدو أن الكرملين حسم أمره بعد سنوات من التردد والحسابات المعقدة، فلم يعد يراهن على "
            "شركة خاصة يمكن التبرؤ منها عند الحاجة. فهو يرسل نائب الوزير كل بضعة أشهر، ويحتفظ "
            "بمئات الرجال في قاعدة الجفرة")
    assert "russian_support" in found(matcher, text)
    rival = text.replace("فهو يرسل", "أما حفتر فهو يرسل")
    assert "russian_support" not in found(matcher, rival)


@pytest.mark.parametrize(("text", "kept"), [
    ("قدم مسلحون روس من الجانب الليبي للحدود وأقاموا نقطة قرب الآبار", True),   # its own side
    ("في الشمال النيجري المحاذي للجزائر وليبيا", False),
    ("يرى محللون أن الكرملين يريد أن يجعل ليبيا منصة لعملياته في الساحل", True),
    ("قالت منصة ليبيا الإخبارية إن الاجتماع تأجل", False),            # the outlet's own name
    ("حذر من أن تمدد المرتزقة من شرق ليبيا يضع حدودنا الجنوبية في خطر", True),
    ("النيجر التي تتقاسم حدودها الطويلة مع ليبيا", False),             # a neighbour's border
    ("تحيط به بؤر التوتر من السودان شرقا إلى ليبيا شمالا", False),     # a compass point
])
def test_where_a_context_stands_decides_for_libya(matcher: Matcher, text: str,
                                                  kept: bool) -> None:
    assert ("libya" in found(matcher, text)) is kept


def test_a_theatre_named_as_the_origin_is_no_other_theatre(matcher: Matcher) -> None:
    flights = "يربط الباحثون الأعمال بزيادة طائرات الشحن العسكرية الروسية القادمة من سوريا"
    assert "russian_military" in found(matcher, flights)
    assert "russian_military" not in found(
        matcher, "تنتشر طائرات الشحن العسكرية الروسية في مطارات سوريا")


def test_their_arms_are_the_nearer_fighters(matcher: Matcher) -> None:
    # (further than the 15 tokens within which any pronoun after Russia is Russia's)
    text = ("اتهمت الجبهة الروس بالمشاركة في عمليات ميدانية واسعة في الشمال. وكان كثير من "
            "مقاتلي الجبهة قد عادوا من ليبيا حاملين أسلحتهم")
    assert "russian_military" not in found(matcher, text)


def test_a_dateline_dash_opens_the_report(matcher: Matcher) -> None:
    # The lede's humanitarian context reaches the headline only if the dateline's dash does
    # not make the report a second item.
    result = matcher.score("طائرة روسية تهبط في بنينا",
                           "بنغازي (رويترز) - هبطت في مطار بنينا طائرة تابعة لوزارة الطوارئ "
                           "الروسية تحمل خياما ومولدات للمتضررين")
    assert "russian_military" not in {h.entity for h in result.hits}
    assert not result.alert


def test_recruits_come_from_the_place_they_were_recruited_in(matcher: Matcher) -> None:
    text = ("تتبع التحقيق رحلة تجنيد نحو 1200 شاب سوري من ريف حمص ودير الزور عبر وسطاء يعملون "
            "لصالح فاغنر")
    assert "wagner" in found(matcher, text)
    assert "wagner" not in found(matcher, "يقاتل عناصر فاغنر في ريف حمص ودير الزور")


def test_an_interviews_turns_are_one_story(matcher: Matcher) -> None:
    text = ("— هل يسعى الكرملين إلى قاعدة بحرية دائمة؟ — لا أظن أنه يحتاج إلى لافتة. — وأين "
            "رجاله اليوم؟ — بين الجفرة وبراك الشاطئ، وثمة ألفا عسكري روسي في ليبيا")
    result = matcher.score("", text)
    places = {h.entity: h.token for h in result.hits}
    assert places["jufra"] < 1000                 # no item break between the turns
    assert result.alert


def test_the_battles_names_reach_the_whole_anniversary(matcher: Matcher) -> None:
    text = ("تحل اليوم ذكرى معركة العلمين التي خاضها الجيش البريطاني بقيادة مونتغمري ضد قوات "
            "المحور بقيادة رومل قرب الإسكندرية. وأعقب المعركة انسحاب طويل غربا للقوات "
            "المهزومة، ومعها «الفيلق الأفريقي»، عبر برقة وطرابلس حتى الحدود التونسية")
    assert "africa_corps" not in found(matcher, text)


def test_a_review_of_the_press_is_a_digest(matcher: Matcher) -> None:
    text = ("جولة في صحافة السبت: «لوفيغارو» تكتب عن الفيلق الأفريقي الروسي في مالي، "
            "و«التايمز» عن قوارب المهاجرين المنطلقة من زوارة")
    assert not matcher.score("", text).alert
