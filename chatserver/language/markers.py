"""Spelling and function-word markers that tell look-alike languages apart.

Statistical detectors trained on long text separate Danish from Norwegian or
Russian from Bulgarian well on a paragraph, but a five-word chat message gives
them a handful of character n-grams, and they then lean towards the language
with more training text (da over no, ru over bg, hi over ne, es over gl).

The markers below are what a human reader uses instead: letters one sibling
has and the others lack (Czech ř, Slovak ô, Ukrainian ї), grammar written
into words (Nepali postpositions joined to the noun, Serbian "platiću"), and
closed-class words: pronouns, negation, auxiliaries, question words,
conjunctions, common adverbs and verbs, and the chat formulas for please,
thank you and help.  They only ever move probability *within* a group of
look-alikes (see backends.CombinedDetector); they never pull a message into
a group.

Deliberately left out: support vocabulary (account, password, invoice,
order...), even where siblings spell it differently, so that the benchmark's
labelled messages, which are full of such words, measure general knowledge
of the languages rather than a list written next to them.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Mapping

__all__ = ["GROUPS", "WORD_MARKERS", "PHRASE_MARKERS", "PATTERN_MARKERS", "marker_hits"]

# Look-alike groups.  Serbian is in two: Latin-script Croatian, Serbian and
# Bosnian differ mostly in a handful of words (see docs/language.md), and
# Cyrillic Serbian looks like Macedonian and Bulgarian.
GROUPS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "ibero": ("es", "pt", "ca", "gl"),
        "malay": ("id", "ms"),
        "nordic": ("no", "da", "sv"),
        "czechoslovak": ("cs", "sk"),
        "bcms": ("hr", "sr", "bs"),
        "cyrillic": ("ru", "uk", "bg", "mk", "sr", "be"),
        "devanagari": ("hi", "mr", "ne"),
        # Text in Han characters alone (kana decide Japanese by script).
        "han": ("zh", "ja"),
    }
)

# (languages, words): words common in those languages and rare or absent in
# the rest of their group.  Within a group each word is listed once, with
# every member it is common in; _build_words() refuses a word listed twice.
_WORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    # --- es / pt / ca / gl ---------------------------------------------------
    (("es",), """
        y yo los las muy hay estoy tengo tienes tienen puedo puedes pueden
        quiero quieres gracias qué cómo dónde cuándo cuánto quién cuál todavía
        ya aún también usted ustedes mi mis tus su sus esto eso ahí allí ahora
        alguien nadie ninguno algún hasta después entonces luego bien siempre
        hace hacer decir tiene puede fue hemos le lo buenos buenas noches otro
        otra mucho mucha muchos muchas poco hoy ayer mañana dinero ayuda
        perdón disculpe nosotros ellos ellas pues sé mismo misma
    """),
    (("pt",), """
        não você vocês minha minhas obrigado obrigada olá tenho posso consigo
        ainda já também um uma uns umas pelo pela pelos pelas à são estão tem
        têm fazer dizer isso aqui alguém ninguém sim ele eles pra bom dia então
        muito muita nenhum nenhuma sua quando hoje ontem amanhã dinheiro coisa
        tinha fiz faço tudo
    """),
    (("ca",), """
        i els amb què perquè és són hi puc vull pots voleu encara gràcies us
        plau també res algú ningú meva meves teva seva et ens pel dels pels
        ara després molt molta molts gens bon bona tarda nit adéu sisplau jo
        nosaltres vosaltres ells elles aquest aquesta això allò avui ahir demà
        diners perdó tinc tens té fer dir pot podeu sóc estic està hem heu cap
        gaire ja tot tota tots però doncs llavors mai quan quin quina on
    """),
    (("gl",), """
        non unha unhas miña miñas teño podo ten hai grazas xa aínda cando coa
        coas co cos cun cunha pola polo polas polos nin moi moito moita
        ningunha alguén ninguén despois tamén iso bos noites ola vostede
        vostedes hoxe onte mañá diñeiro axuda tiña fixen facer dicir cousa
        entón bo dende veu
    """),
    (("pt", "gl"), """
        quero preciso onde o os as e na nas do dos das ao aos é foi pode isto
        agora ela elas boa boas noite depois mas estou eu nós desculpe mesmo
        estava vai vou outro outra sei
    """),
    (("pt", "ca"), "em com ajuda"),
    (("pt", "gl", "ca"), "meu meus teu sempre"),
    (("es", "gl"), "pero necesito ningún están estaba algo todo"),
    (("es", "ca"), "hola sí del he han les el la una"),
    (("gl", "ca"), "cal"),
    # --- id / ms -------------------------------------------------------------
    (("ms",), """
        tak nak hendak mahu sila awak encik cik puan sesiapa kerana sahaja tu
        ni ye je kat boleh dah taknak takde tiada mesti camne takpe wang
        percuma telefon kereta pejabat kedai beg semula cuba faham berjaya
        selepas dahulu adakah ialah sikit bila
    """),
    (("id",), """
        bisa mau nggak gak enggak ga aja udah dong sih kok deh kak mbak mas bu
        karena gimana kapan makasih banget nih tuh gitu gini harus butuh kalo
        gue gw lu uang gratis telepon mobil kantor toko tas coba paham
        berhasil setelah sesudah dulu apakah dikit bikin
    """),
    # --- no / da / sv --------------------------------------------------------
    (("sv",), """
        jag inte är och hur vad någon något inget tack hjälp fick gick än
        också varför här där bara att ett mycket hejsan ni dom kunde finns
        kanske behöver göra köpa köpt hemma fortfarande förstår hjälpa blivit
        varit vara fråga vilken redan sedan snälla vänligen
    """),
    (("no",), """
        hva ennå fikk gikk gjennom noe noen meg deg hjelp takk feil mye inn
        tilbake hei nå hatt dere dessverre veldig ikkje eg kva kjempe etter
        nei sånn aldri kanskje litt sjekke trenger gjøre kjøpe kjøpt enn
        blitt ble vært spørsmål fortsatt skjønner hjelpe igjen vennligst
        opp gir sier spørre
    """),
    (("da",), """
        hvad endnu fik gik igennem noget nogen hjælp tak fejl meget have ind
        ud tilbage fået jer desværre rigtig hvornår lige af sådan mere måske
        lidt tjekke behøver gøre købe købt end blevet været spørgsmål stadig
        hjælpe tusind venligst gerne op bliver tager giver siger spørge
    """),
    (("no", "da"), "ikke jeg mine er vil skal hvordan hvem hvorfor også bare være hjemme allerede hvilken hvilke selv"),
    (("no", "sv"), "mitt ha ut fått av mer alltid lite bra tusen blir tar"),
    (("da", "sv"), "mig dig hej nu haft efter nej aldrig igen blev"),
    # --- cs / sk -------------------------------------------------------------
    (("cs",), """
        jsem jsi jsme jste jsou se co jak ještě není nemůžu můžu mohu chci
        děkuji děkuju díky pořád když protože proč kdy tady mě mně můj svou
        svůj který která které jen taky také den ne ano teď potřebuji potřebuju
        hned moc velmi zítra nic nikdo někdo něco všechno proto nebo jestli
        můžete
    """),
    (("sk",), """
        som sme ste sa čo ako ešte nie nemôžem môžem chcem ďakujem vďaka
        prečo kedy mňa môj svoju svoj ktorý ktorá ktoré len tiež aj deň áno
        teraz potrebujem hneď veľmi zajtra nič nikto niekto niečo všetko preto
        alebo môžete
    """),
    # --- hr / sr / bs (Latin) ------------------------------------------------
    (("hr",), """
        tko itko netko nitko točno točan točna tjedan tisuća kruh bok kava vlak
        kolodvor zrakoplov glazba obitelj sveučilište općenito uopće uvjet
        uvjeti povijest
    """),
    # Ijekavian reflex: Croatian and Bosnian; and a few shared words.
    (("hr", "bs"), """
        što trebam također gdje ovdje ondje lijepo lijep lijepa uvijek prije
        poslije cijena cijeli vrijeme htio htjela vidio vidjela dijete
        promijeniti promijenim promijenio mijenjati razumijem mjesec mjesto
        uspjelo uspio uspjela
    """),
    # Ekavian reflex: Serbian.
    (("sr",), """
        gde ovde onde lepo lep lepa uvek pre posle cena ceo vreme hteo htela
        video videla dete promeniti promenim promenio menjati razumem mesec
        mesto uspelo uspeo uspela takođe kafa voz istorija uslov uslovi nedelja
        hleb
    """),
    # Serbian and Bosnian: the šta/ko family, tačno, hiljada.
    (("sr", "bs"), "šta ko neko niko iko tačno tačan tačna hiljada sedmica uraditi uopšte porodica muzika"),
    (("bs",), "lahko polahko kahva sahat selam hljeb historija mahala avlija merhaba"),
    # --- ru / uk / bg / mk / sr (Cyrillic) / be -----------------------------
    (("ru",), """
        что это спасибо пожалуйста здравствуйте мне меня мой моё мои уже ещё
        еще есть нет почему когда можно нужно вы ничего сейчас очень только
        если тоже здесь кто нибудь привет добрый помогите сделать надо нужен
        нужна сегодня был была было будет этот эта эти мы сих пор зачем
        сколько какой какая какие чтобы
    """),
    (("uk",), """
        що це дякую будь ласка можу мені мій моє вже є немає як де хто коли
        або потрібно досі нічого привіт доброго добрий і й чи допоможіть
        зробити сьогодні вчора був була було буде цей ця ці чому навіщо
        скільки який яка які щоб також тільки дуже зараз
    """),
    (("bg",), """
        мога благодаря моля здравейте искам още нищо къде какво защо съм няма
        който това тук някой вече трябва здрасти направя днес този тази тези
        всичко какъв също нещо колко
    """),
    (("mk",), """
        сакам благодарам можам уште каде некој јас тука ќе молам денес овој
        оваа овие сите зошто колку каков многу веќе
    """),
    (("sr",), """
        хвала нисам није ништа шта ко ћу ће желим хоћу молим данас јуче сутра
        био била овај ова ови све зашто колико какав такође сада већ још
    """),
    (("be",), "дзякуй калі"),
    (("ru", "uk"), "я моя тут хочу завтра вас"),
    (("ru", "bg"), "как или"),
    (("ru", "sr"), "могу где"),
    (("uk", "bg"), "мене ще"),
    (("bg", "mk"), "дали кога си е вие ги помогнете утре беше бил ние сега"),
    (("bg", "sr"), "са"),
    (("mk", "sr"), "нема здраво како нешто"),
    (("uk", "mk", "sr"), "треба"),
    # --- hi / mr / ne --------------------------------------------------------
    (("hi",), """
        है हैं नहीं मेरा मेरी मेरे मुझे मैं क्या कैसे रहा रही रहे गया गई हूँ
        हूं की में से कोई चाहिए करें आया था थी और भी तक अभी करनी करना जाता
        यह वह हम आप आपका आपकी आपके कुछ बहुत कल यहाँ वहाँ कौन कब क्यों लेकिन
        हुआ हुई होगा दीजिए बताइए कीजिए करो सकता सकते
    """),
    (("mr",), """
        आहे आहेत नाही मला माझा माझी माझे माझं मी तुम्ही आम्ही कसा कशी कसे कुठे
        काय आली आला झाला झालं झाली होत येत करायचे करायचं हवा हवी हवे अजून
        काही काहीच पण आणि तरी केले केला करू करा द्या सांगा पाहिजे नको खूप
        आता उद्या इथे तिथे कोण कधी म्हणून तुमचा तुमची तुमचे आपण तुम्हाला
        माझ्या
    """),
    (("ne",), """
        छ छैन छु छौं होइन मेरो मलाई म मैले तपाईं तपाई हुनुहुन्छ गर्न गर्नु
        गर्ने सक्दिनँ सक्छु भएन भयो आयो गरेन हुन्छ कसरी किन अझै केही पाएको
        सँग चाहियो चाहिन्छ अहिले अहिलेसम्म धेरै पनि र गर्नुहोस् गरेको गर्छु
        हुन्न दिनुहोस् तपाईंको हाम्रो यो त्यो कहिले भोलि हिजो अलि तर अनि
    """),
    (("hi", "ne"), "कहाँ लागि हो के अब वा"),
    (("hi", "mr"), "का करता"),
)

# Multi-word markers, matched on the lower-cased, space-joined words.
_PHRASES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("ca",), ("si us plau", "hi ha")),
    (("hr",), ("je li", "jesi li", "jeste li")),
    (("sr", "bs"), ("da li", "mogu da", "moram da", "hoću da", "želim da", "treba da")),
    (("ms",), ("macam mana", "log masuk")),
    (("mk",), ("ве молам",)),
    (("be",), ("калі ласка",)),
)

# Letters and spellings: (pattern, languages it supports).  Searched in the
# lower-cased original text, so "¿" and "l·l" still count.
_PATTERNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # "nh" but not Galician "unha" (pt "uma").
    (r"[ãõ]|ção|ções|lh[aeo]|(?<!u)nh[aeo]", ("pt",)),
    # Adjectives in -ble (es, ca, gl "posible") against Portuguese -vel.
    (r"\w{3,}bles?\b", ("es", "ca", "gl")),
    (r"\w{3,}(?:vel|veis)\b", ("pt",)),
    # Galician writes x where Portuguese has j or g ("hoxe", "viaxe",
    # "tarxeta", "xente"), and joins a pronoun to a finite verb without the
    # hyphen Portuguese uses ("chegoume", "cobráronme").
    (r"(?:axe|oxe|uxe)s?\b|[rl]x[aeiouáéíóú]|\bx[aeiouáéíóú]\w", ("gl",)),
    (r"\w{2,}(?:ron|ou|ei)(?:me|che|lle|nos|vos|lles)\b", ("gl",)),
    (r"ç", ("pt", "ca")),
    (r"ñ", ("es", "gl")),
    (r"[¿¡]", ("es",)),
    (r"l·l|ció\b|ny\b|[èò]|ix\b|tx", ("ca",)),
    (r"ción\b", ("es", "gl")),
    (r"[äö]", ("sv",)),
    (r"[æø]", ("no", "da")),
    (r"kj|gj|øy|ei\b|sjon\b|kk\b", ("no",)),
    (r"ej\b|tion\b", ("da", "sv")),
    # Danish øj and -hed against Norwegian øy and -het ("høj"/"høy").
    (r"øj|\w{2,}hed(?:en|er)?\b", ("da",)),
    (r"\w{2,}het(?:en|er|ene)?\b", ("no", "sv")),
    # Norwegian puts the possessive after the definite noun ("kontoen min",
    # "passordet mitt"); Danish puts it before ("min konto").
    (r"\b\w{2,}(?:en|a|ene) (?:min|mi|mine|din|di|dine|sin|si|sine|vår|våre)\b|\b\w{2,}et (?:mitt|ditt|sitt|vårt)\b", ("no",)),
    (r"[ěřů]", ("cs",)),
    (r"[äôľĺŕ]|dz", ("sk",)),
    # Slovak infinitives in -ť ("zrušiť"), nouns in -ia/-iu and -nie/-cie
    # ("aplikácia", "doručenie"), ú after the first syllable ("novú",
    # "faktúru"), and superlatives in naj-; Czech has -t, -e/-ie, -í
    # ("doručení"), ou and nej-.
    (r"\w{2,}[aeiouy]ť\b|\w{2,}[cčnrtž]i[au]\b|\w{2,}[cčn]ie\b|\w{3,}ú|\wú\b|\bnaj\w{3,}", ("sk",)),
    (r"\w{2,}[nc]í\b|\bnej\w{3,}", ("cs",)),
    # Serbian writes the future joined to the infinitive ("platiću");
    # Croatian and Bosnian write "platit ću".
    (r"\w{2,}[ia](?:ću|ćeš|ćemo|ćete)\b", ("sr",)),
    # ... and Croatian and Bosnian write it apart, the infinitive cut to -t.
    (r"\b\w{2,}[ia]t (?:ću|ćeš|će|ćemo|ćete)\b", ("hr", "bs")),
    # A modal verb followed by an infinitive ("želim otkazati", "mogu li
    # razgovarati") is the Croatian and Bosnian norm; Serbian mostly writes
    # "da" and the present ("želim da otkažem", "mogu li da razgovaram").
    (r"\b(?:mogu|možeš|može|možemo|možete|želim|želiš|želi|moram|moraš|mora|trebam|trebaš|hoću|hoćeš|htio bih|htjela bih|htio sam|htjela sam)(?: li)?(?: se)? \w{2,}(?:ti|ći)\b", ("hr", "bs")),
    # Malay "belum ... lagi" (not yet); Indonesian says "belum" alone.
    (r"\bbelum (?:\w+ ){1,2}lagi\b", ("ms",)),
    (r"[іїєґ]", ("uk",)),
    (r"[ыэё]", ("ru",)),
    (r"ъ", ("bg",)),
    (r"[ђћ]", ("sr",)),
    (r"[ѓќѕ]", ("mk",)),
    (r"[јљњџ]", ("sr", "mk")),
    (r"ў", ("be",)),
    # Marathi: ळ, and postpositions joined to the noun.
    (r"[ळॲ]|च्या|मध्ये|साठी|बद्दल|कडे(?=\s|$)|पर्यंत", ("mr",)),
    # Han characters only one of Chinese and Japanese writes: simplified
    # Chinese forms (们 这 说...) and traditional forms Japanese replaced
    # (們 這 說...); Japanese shinjitai and kokuji (払 売 変 込 届...).
    (r"[们这说订货还吗么请谢码让给该问题账户钱买卖东时间为对开关网页电话错误帮务记录设经过现发无們這說沒嗎麼讓錢賣幫號錄經發關對]", ("zh",)),
    (r"[払売変済込帰気発続読験検険様対図広転単価円楽薬乗効戻応従覧関鉄駅働枠]", ("ja",)),
    # Nepali: postpositions and the plural joined to the noun.
    (r"\S(?:लाई|बाट|हरू)(?=\s|$)", ("ne",)),
)


def _build_words() -> dict[str, tuple[str, ...]]:
    """Return word -> languages; raise if a word is listed twice within one group.

    The same spelling may be a marker in two groups ("mas" is Portuguese and
    Indonesian); markers are only read within one group, so that is fine.
    """
    words: dict[str, tuple[str, ...]] = {}
    for languages, listed in _WORDS:
        for word in listed.split():
            earlier = words.get(word, ())
            for members in GROUPS.values():
                if set(earlier) & set(members) and set(languages) & set(members):
                    raise ValueError(f"marker word {word!r} is listed for {earlier} and {languages}")
            words[word] = earlier + languages
    return words


WORD_MARKERS: Mapping[str, tuple[str, ...]] = MappingProxyType(_build_words())
PHRASE_MARKERS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {phrase: languages for languages, phrases in _PHRASES for phrase in phrases}
)
PATTERN_MARKERS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = tuple(
    (re.compile(pattern), languages) for pattern, languages in _PATTERNS
)


def _group_matchers(members: tuple[str, ...]) -> tuple[re.Pattern[str] | None, tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]]:
    """Return the phrase regex and the patterns that can name a member of the group."""
    phrases = [phrase for phrase, languages in PHRASE_MARKERS.items() if set(languages) & set(members)]
    phrase_re = (
        re.compile(r"(?<!\w)(?:" + "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True)) + r")(?!\w)")
        if phrases
        else None
    )
    patterns = tuple((pattern, languages) for pattern, languages in PATTERN_MARKERS if set(languages) & set(members))
    return phrase_re, patterns


_GROUP_MATCHERS = {members: _group_matchers(members) for members in GROUPS.values()}


def marker_hits(words: list[str], text: str, group: tuple[str, ...]) -> dict[str, float]:
    """Return language -> number of marker hits for the group's languages, from lower-cased words and text."""
    if group not in _GROUP_MATCHERS:
        _GROUP_MATCHERS[group] = _group_matchers(group)
    phrase_re, patterns = _GROUP_MATCHERS[group]
    hits: dict[str, float] = {}
    for word in words:
        for code in WORD_MARKERS.get(word, ()):
            hits[code] = hits.get(code, 0.0) + 1.0
    if phrase_re is not None:
        for match in phrase_re.finditer(" ".join(words)):
            for code in PHRASE_MARKERS[match.group(0)]:
                hits[code] = hits.get(code, 0.0) + 1.0
    for pattern, languages in patterns:
        # A spelling counts once per message, however often it repeats.
        if pattern.search(text):
            for code in languages:
                hits[code] = hits.get(code, 0.0) + 1.0
    return hits
