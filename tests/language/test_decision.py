"""Tests for per-conversation language decisions (real langdetect, no mocks)."""

from __future__ import annotations

import math
import random
from collections import defaultdict

import pytest

from chatserver.language import (
    Detector,
    LanguageDecision,
    decide_language,
    make_detector,
    message_weight,
    should_reroute,
)
from chatserver.language.decision import MIN_MARGIN

GERMAN_OPENING = "die Rechnung ist falsch, bitte helfen Sie mir"
ENGLISH_OPENING = "Hello, I have a problem with my invoice"
JAPANESE_OPENING = "こんにちは、注文について質問があります"
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "app.py", line 3, in <module>\n'
    "KeyError: 'x'"
)
LOG_LINE = "ERROR 2024-01-01 12:00:00 [main] NullPointerException at com.foo.Bar"


@pytest.fixture(scope="module")
def detector() -> Detector:
    return make_detector()


def evidence(detector: Detector, *texts: str) -> list[tuple[dict[str, float], float]]:
    return [(detector.scores(text), message_weight(text)) for text in texts]


# --- message_weight -----------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["", "ok", "thanks", "thank you!", "lol", "👍", "12345", "https://x.io/a", TRACEBACK, LOG_LINE]
)
def test_message_weight_is_zero_without_evidence(text: str) -> None:
    assert message_weight(text) == 0.0


def test_message_weight_grows_and_saturates() -> None:
    texts = ["danke", "wo ist das", "wo ist meine Rechnung", GERMAN_OPENING, GERMAN_OPENING * 5]
    weights = [message_weight(text) for text in texts]
    assert weights == sorted(weights)
    assert all(0.0 < w <= 1.0 for w in weights)
    assert weights[0] < 0.2  # one short word is weak evidence
    assert weights[-1] > 0.99
    # CJK characters count double: 10 kana/kanji weigh like 20 letters.
    assert message_weight("注文がまだ届きません") == pytest.approx(message_weight("abcdefghij" * 2))


# --- scenarios from the routing spec ------------------------------------------


def test_clear_message_beats_panel_and_browser(detector: Detector) -> None:
    decision = decide_language(
        messages=evidence(detector, ENGLISH_OPENING),
        panel_language="de",
        browser_languages=["de-DE"],
    )
    assert decision.language == "en"
    assert decision.confident
    assert "panel choice de disagrees" in decision.explanation


def test_neutral_message_keeps_panel_language(detector: Detector) -> None:
    decision = decide_language(messages=evidence(detector, "ok"), panel_language="de")
    assert decision.language == "de"
    assert decision.confident


def test_no_priors_and_no_evidence_is_undetermined(detector: Detector) -> None:
    decision = decide_language(messages=evidence(detector, "ok"))
    assert decision == LanguageDecision(
        language="und", confidence=0.0, confident=False, explanation=decision.explanation
    )
    assert decide_language(messages=[]).language == "und"


def test_short_german_sentence_without_priors(detector: Detector) -> None:
    decision = decide_language(messages=evidence(detector, "die Rechnung ist falsch"))
    assert decision.language == "de"
    assert decision.confident
    assert decision.explanation.startswith("German from 1 message")


def test_thanks_after_german_does_not_flip(detector: Detector) -> None:
    before = decide_language(messages=evidence(detector, GERMAN_OPENING))
    after = decide_language(messages=evidence(detector, GERMAN_OPENING, "thanks"))
    assert before.language == after.language == "de"
    assert after.confident
    assert not should_reroute(current="de", decision=after)


def test_japanese_with_matching_browser(detector: Detector) -> None:
    decision = decide_language(messages=evidence(detector, JAPANESE_OPENING), browser_languages=["ja"])
    assert decision.language == "ja"
    assert decision.confident


def test_japanese_beats_weak_browser_prior(detector: Detector) -> None:
    decision = decide_language(
        messages=evidence(detector, JAPANESE_OPENING), browser_languages=["en-US", "en"]
    )
    assert decision.language == "ja"
    assert decision.confident


def test_single_hello_with_japanese_browser(detector: Detector) -> None:
    # Chosen behaviour: "hello" is an international greeting (neutral token),
    # so the browser prior remains the best guess, but a browser language
    # alone is never enough to route on.
    decision = decide_language(messages=evidence(detector, "hello"), browser_languages=["ja"])
    assert decision.language == "ja"
    assert not decision.confident
    assert not should_reroute(current="en", decision=decision)
    # A real English sentence does override the browser.
    decision = decide_language(
        messages=evidence(detector, "hello, where is my order?"), browser_languages=["ja"]
    )
    assert decision.language == "en"
    assert decision.confident


def test_conversation_never_flips_on_language_neutral_messages(detector: Detector) -> None:
    noise = [
        "thanks",
        "ok",
        "ok thx",
        "👍",
        "lol",
        "yes",
        "12345",
        "https://shop.example.com/orders/4711",
        "max.mustermann@example.com",
        TRACEBACK,
        LOG_LINE,
        "Thank you!",
        "hello?",
        "😀😀😀",
    ]
    texts = [GERMAN_OPENING]
    for text in noise:
        texts.append(text)
        decision = decide_language(messages=evidence(detector, *texts))
        assert decision.language == "de", text
        assert decision.confident, text
        assert not should_reroute(current="de", decision=decision), text


def test_one_short_message_in_another_language_does_not_flip(detector: Detector) -> None:
    for text in ["sorry", "merci", "hola", "bonjour", "is anyone there?"]:
        decision = decide_language(messages=evidence(detector, GERMAN_OPENING, text))
        assert not should_reroute(current="de", decision=decision), text


def test_visitor_switching_language_is_followed(detector: Detector) -> None:
    history = [GERMAN_OPENING, ENGLISH_OPENING]
    decision = decide_language(messages=evidence(detector, *history))
    # One English sentence after a German one is not enough to move.
    assert not should_reroute(current="de", decision=decision)
    history.append("Can you please check the status of my order")
    decision = decide_language(messages=evidence(detector, *history))
    assert decision.language == "en"
    assert should_reroute(current="de", decision=decision)


def test_flip_guarantee_for_short_messages() -> None:
    # Property behind the design: a message of at most 6 letters can never
    # confidently reroute away from the language that was ahead before it.
    short_weight = message_weight("abcdef")
    assert short_weight < 0.17
    rng = random.Random(7)
    langs = ["de", "en", "fr", "nl"]
    for _ in range(2000):
        history = []
        for _ in range(rng.randint(0, 4)):
            probs = {code: rng.random() for code in rng.sample(langs, rng.randint(1, 3))}
            total = sum(probs.values())
            history.append(({c: p / total for c, p in probs.items()}, rng.random()))
        panel = rng.choice([None, *langs])
        browser = rng.sample(langs, rng.randint(0, 2))
        before = decide_language(messages=history, panel_language=panel, browser_languages=browser)
        if before.language == "und":
            continue
        for other in langs:
            if other == before.language:
                continue
            after = decide_language(
                messages=[*history, ({other: 1.0}, short_weight)],
                panel_language=panel,
                browser_languages=browser,
            )
            assert not should_reroute(current=before.language, decision=after), (history, panel, browser)


# --- priors ---------------------------------------------------------------------


def test_panel_alone_is_confident_browser_alone_is_not() -> None:
    panel = decide_language(messages=[], panel_language="DE")
    assert (panel.language, panel.confident) == ("de", True)
    assert "panel choice" in panel.explanation
    browser = decide_language(messages=[], browser_languages=["pt-BR"])
    assert (browser.language, browser.confident) == ("pt", False)


def test_first_browser_language_is_strongest() -> None:
    assert decide_language(messages=[], browser_languages=["fr-FR", "de-DE", "en"]).language == "fr"
    # Duplicates of one language do not use up ranks or add weight.
    assert decide_language(messages=[], browser_languages=["de-DE", "de", "en"]).language == "de"


def test_panel_outweighs_browser() -> None:
    decision = decide_language(messages=[], panel_language="de", browser_languages=["fr-FR"])
    assert decision.language == "de"
    assert decision.confident


def test_browser_junk_is_ignored() -> None:
    decision = decide_language(messages=[], browser_languages=["*", "", "x-klingon", "123", "EN-us"])
    assert decision.language == "en"
    assert decide_language(messages=[], browser_languages=["*", "q=0.5"]).language == "und"
    assert decide_language(messages=[], panel_language="klingon").language == "und"


def test_weak_message_does_not_override_panel(detector: Detector) -> None:
    # "danke" alone is misdetected by langdetect; its tiny weight keeps the panel choice.
    decision = decide_language(messages=evidence(detector, "danke"), panel_language="en")
    assert decision.language == "en"
    assert decision.confident


def test_browser_prior_breaks_ambiguity() -> None:
    ambiguous = [({"nl": 0.5, "af": 0.5}, 1.0)]
    assert decide_language(messages=ambiguous).language == "af"  # alphabetical tie-break
    assert decide_language(messages=ambiguous, browser_languages=["nl-BE"]).language == "nl"


# --- robustness and determinism --------------------------------------------------


def test_junk_inputs_are_tolerated() -> None:
    decision = decide_language(
        messages=[
            ({"de": 0.9}, math.nan),
            ({"de": 0.9}, -1.0),
            ({"zh-cn": 0.7, "zh-tw": 0.3}, 5.0),  # weight clamped to 1, zh variants merged
            ({"xx": 1.0, "": 1.0}, 1.0),
            ({}, 1.0),
            ({"fr": math.inf}, 1.0),
        ]
    )
    assert decision.language == "zh"
    assert 0.0 <= decision.confidence <= 1.0


def test_decision_is_deterministic_and_order_independent() -> None:
    a = decide_language(messages=[({"de": 0.6, "nl": 0.4}, 0.8)], browser_languages=["nl", "de"])
    b = decide_language(messages=[({"nl": 0.4, "de": 0.6}, 0.8)], browser_languages=["nl", "de"])
    assert a == b


def test_should_reroute() -> None:
    confident_de = LanguageDecision("de", 0.9, True, "German.")
    unsure_de = LanguageDecision("de", 0.4, False, "Tentatively German.")
    undetermined = LanguageDecision("und", 0.0, False, "Unknown.")
    confident_und = LanguageDecision("und", 0.9, True, "Unknown.")
    assert should_reroute(current=None, decision=confident_de)
    assert should_reroute(current="en", decision=confident_de)
    assert not should_reroute(current="de", decision=confident_de)
    assert not should_reroute(current="de-DE", decision=confident_de)
    assert not should_reroute(current="en", decision=unsure_de)
    assert not should_reroute(current="en", decision=undetermined)
    assert not should_reroute(current="en", decision=confident_und)


def test_confidence_margin_constant_is_meaningful() -> None:
    # The documented flip guarantee relies on these relations.
    assert message_weight("abcdef") + 0.15 * 0.6 < MIN_MARGIN


# --- accuracy on short support messages ------------------------------------------

SUPPORT_MESSAGES: list[tuple[str, str]] = [
    ("en", "is anyone there?"),
    ("en", "my payment did not go through"),
    ("en", "I can't log into my account"),
    ("de", "die Rechnung ist falsch"),
    ("de", "wo bleibt meine Bestellung?"),
    ("de", "ich kann mich nicht anmelden"),
    ("es", "mi pedido no ha llegado"),
    ("es", "no puedo entrar en mi cuenta"),
    ("es", "necesito ayuda con la factura"),
    ("fr", "ma commande n'est pas arrivée"),
    ("fr", "je ne peux pas me connecter"),
    ("fr", "la facture est incorrecte"),
    ("it", "il mio ordine non è arrivato"),
    ("it", "non riesco ad accedere al mio account"),
    ("it", "ho bisogno di aiuto con la fattura"),
    ("pt", "meu pedido ainda não chegou"),
    ("pt", "não consigo entrar na minha conta"),
    ("pt", "preciso de ajuda com o pagamento"),
    ("nl", "mijn bestelling is nog niet aangekomen"),
    ("nl", "ik kan niet inloggen"),
    ("nl", "de factuur klopt niet"),
    ("ru", "мой заказ не пришёл"),
    ("ru", "не могу войти в аккаунт"),
    ("ru", "помогите с оплатой пожалуйста"),
    ("ja", "注文がまだ届きません"),
    ("ja", "ログインできません"),
    ("ja", "請求書が間違っています"),
    ("zh", "我的订单还没到"),
    ("zh", "我无法登录我的账户"),
    ("zh", "发票有问题"),
    ("ko", "주문한 상품이 아직 안 왔어요"),
    ("ko", "로그인이 안 돼요"),
    ("ko", "결제가 안 됩니다"),
    ("ar", "لم يصل طلبي بعد"),
    ("ar", "لا أستطيع تسجيل الدخول"),
    ("ar", "أحتاج مساعدة في الفاتورة"),
    ("pl", "moje zamówienie nie dotarło"),
    ("pl", "nie mogę się zalogować"),
    ("pl", "faktura jest błędna"),
    ("tr", "siparişim hâlâ gelmedi"),
    ("tr", "hesabıma giriş yapamıyorum"),
    ("tr", "faturada bir hata var"),
]


def test_accuracy_on_short_support_messages(detector: Detector) -> None:
    # Measured with langdetect 1.0.9, seed 0 (no priors, one message each):
    #   language correct 40/42 = 95.2%; misses: es "mi pedido no ha llegado"
    #   -> pt, nl "ik kan niet inloggen" -> af (both confidently wrong);
    #   confident and correct 38/42 = 90.5% (nl "mijn bestelling ..." and
    #   tr "faturada bir hata var" are right but not confident);
    #   worst languages es and nl at 2/3, all others 3/3.
    # Thresholds sit just below the measurement so regressions fail loudly.
    per_language: dict[str, list[bool]] = defaultdict(list)
    correct = confident_correct = confident_wrong = 0
    for language, text in SUPPORT_MESSAGES:
        decision = decide_language(messages=evidence(detector, text))
        hit = decision.language == language
        per_language[language].append(hit)
        correct += hit
        confident_correct += hit and decision.confident
        confident_wrong += (not hit) and decision.confident
    total = len(SUPPORT_MESSAGES)
    accuracy = correct / total
    print(
        f"short-message accuracy {correct}/{total} = {accuracy:.1%}, "
        f"confident-correct {confident_correct}, confident-wrong {confident_wrong}"
    )
    assert accuracy >= 0.93
    assert confident_correct / total >= 0.88
    assert confident_wrong <= 2
    for language, hits in per_language.items():
        assert sum(hits) / len(hits) >= 2 / 3, language
