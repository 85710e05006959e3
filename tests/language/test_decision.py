"""Tests for per-conversation language decisions (real default detector, no mocks)."""

from __future__ import annotations

import json
import math
import random

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
from chatserver.language.names import readership

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
    assert decision.explanation.startswith("English from 1 message (confidence ")
    assert decision.explanation.endswith("; the panel choice German is outweighed.")
    # The clear sentence cancels both priors almost entirely.
    assert [(source, code) for source, code, _ in decision.priors] == [("panel", "de"), ("browser", "de")]
    assert all(weight < 0.05 for _, _, weight in decision.priors)


def test_picked_deutsch_but_writes_japanese_is_japanese(detector: Detector) -> None:
    # The example: a prior never overrides clear evidence.
    decision = decide_language(
        messages=evidence(detector, "注文がまだ届きません"), panel_language="de", browser_languages=["de-DE", "de"]
    )
    assert (decision.language, decision.confident) == ("ja", True)


def test_neutral_message_keeps_panel_language(detector: Detector) -> None:
    decision = decide_language(messages=evidence(detector, "ok"), panel_language="de")
    assert decision.language == "de"
    assert decision.confident


def test_no_priors_and_no_evidence_is_undetermined(detector: Detector) -> None:
    decision = decide_language(messages=evidence(detector, "ok"))
    assert decision == LanguageDecision(
        language="und", confidence=0.0, confident=False, explanation=decision.explanation, messages_total=1
    )
    assert decision.explanation == "Language unknown: no message with language evidence and no panel or browser language."
    assert decide_language(messages=[]).language == "und"


def test_short_german_sentence_without_priors(detector: Detector) -> None:
    decision = decide_language(messages=evidence(detector, "die Rechnung ist falsch"))
    assert decision.language == "de"
    assert decision.confident
    assert decision.explanation.startswith("German from 1 message (confidence ")


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
    # One short word in another language: its tiny weight keeps the panel choice.
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


# --- look-alikes and priors ---------------------------------------------------------


def test_prior_breaks_a_lookalike_tie_but_cannot_leave_the_family() -> None:
    # A message the detector splits between Norwegian and Danish.
    split = [({"no": 0.5, "da": 0.45, "sv": 0.03}, 0.9)]
    assert decide_language(messages=split, panel_language="da").language == "da"
    assert decide_language(messages=split, panel_language="no").language == "no"
    # A wrong panel language outside the family loses, and is reported as outweighed.
    decision = decide_language(messages=split, panel_language="en")
    assert decision.language == "no"
    assert "the panel choice English is outweighed" in decision.explanation


def test_priors_yield_to_contradicting_evidence() -> None:
    # Clearly Slavic, unclear which Slavic: still clear evidence against English.
    spread = [({"sk": 0.3, "sl": 0.2, "sr": 0.2, "cs": 0.1}, 0.65)]
    assert decide_language(messages=spread, panel_language="en").language == "sk"
    # A short word barely dents a prior.
    short = [({"de": 1.0}, message_weight("danke"))]
    decision = decide_language(messages=short, panel_language="en")
    assert decision.language == "en"
    assert dict((code, weight) for _, code, weight in decision.priors)["en"] > 0.3


def test_lookalike_conversation_follows_its_markers(detector: Detector) -> None:
    decision = decide_language(
        messages=evidence(detector, "hei", "jeg fikk ikke pakken min", "hva skjer nå?", "takk"),
        panel_language="en",
    )
    assert decision.language == "no"


# --- the decision record --------------------------------------------------------------


def test_candidates_priors_and_counts(detector: Detector) -> None:
    decision = decide_language(
        messages=evidence(detector, "hallo", "ok", "ich habe ein Problem mit meiner Rechnung", "👍"),
        panel_language="en",
        browser_languages=["de-DE", "en-US"],
    )
    assert decision.language == "de"
    assert decision.messages_total == 4
    assert decision.messages_counted == 2  # "ok" and the emoji carry no evidence
    codes = [code for code, _ in decision.candidates]
    assert codes[0] == "de" and "en" in codes and len(codes) <= 5
    shares = [share for _, share in decision.candidates]
    assert shares == sorted(shares, reverse=True) and sum(shares) <= 1.0
    assert decision.candidates[0][1] == decision.confidence
    assert [(source, code) for source, code, _ in decision.priors] == [("panel", "en"), ("browser", "de"), ("browser", "en")]


def test_as_dict_is_json_ready(detector: Detector) -> None:
    decision = decide_language(messages=evidence(detector, GERMAN_OPENING), panel_language="fr")
    data = decision.as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["language"] == "de" and data["name"] == "German"
    assert data["confident"] is True and data["confidence"] == decision.confidence
    assert data["explanation"] == decision.explanation
    assert data["candidates"][0] == {"language": "de", "name": "German", "score": decision.confidence}
    assert data["priors"][0]["source"] == "panel" and data["priors"][0]["name"] == "French"
    assert (data["messages_counted"], data["messages_total"]) == (1, 1)
    assert decide_language(messages=[]).as_dict()["name"] == "unknown"


@pytest.mark.parametrize(
    ("texts", "panel", "browser", "expected"),
    [
        ((GERMAN_OPENING,), None, (), "German from 1 message (confidence "),
        ((), "de", (), "German from the panel choice (confidence "),
        (("hello",), None, ("ja",), "Tentatively Japanese from the browser language (confidence "),
        ((GERMAN_OPENING, "ich kann mich nicht anmelden"), "de", (), "German from 2 messages and the panel choice"),
        ((ENGLISH_OPENING, GERMAN_OPENING, "wo bleibt meine Bestellung?"), None, (), "German from 2 of 3 messages"),
    ],
)
def test_explanation_is_one_sentence(detector: Detector, texts, panel, browser, expected: str) -> None:
    explanation = decide_language(
        messages=evidence(detector, *texts), panel_language=panel, browser_languages=browser
    ).explanation
    assert explanation.startswith(expected), explanation
    assert explanation.endswith(".") and "\n" not in explanation


def test_tentative_first_guess_is_left_when_the_evidence_abandons_it(detector: Detector) -> None:
    # The first message routes the conversation however weak it is: "bok"
    # (Croatian "hi") comes out as some other language, tentatively.
    first = decide_language(messages=evidence(detector, "bok"))
    assert not first.confident
    later = decide_language(messages=evidence(detector, "bok", "nije mi stigao paket"))
    assert later.language in ("hr", "sr", "bs") and later.language != first.language
    assert should_reroute(current=first.language, decision=later)
    # A guess the evidence still supports is kept until the evidence is confident.
    split = LanguageDecision("no", 0.45, False, "Tentatively Norwegian.", candidates=(("no", 0.45), ("da", 0.4)), total_votes=1.8)
    assert not should_reroute(current="da", decision=split)
    # And little evidence in all never moves it.
    faint = LanguageDecision("sr", 0.5, False, "Tentatively Serbian.", candidates=(("sr", 0.5),), total_votes=0.2)
    assert not should_reroute(current="no", decision=faint)


def test_abandoned_language_is_followed_without_confidence() -> None:
    # Norwegian from a first "hei"; since then, a split between Danish and Swedish.
    leader = LanguageDecision(
        "da", 0.45, False, "Tentatively Danish.", candidates=(("da", 0.45), ("sv", 0.3), ("no", 0.05)), total_votes=0.9
    )
    assert should_reroute(current="no", decision=leader)
    # Not among the candidates at all: abandoned too.
    assert should_reroute(current="fi", decision=leader)
    # A sibling that is still close is not abandoned.
    assert not should_reroute(current="sv", decision=leader)
    assert not should_reroute(current=None, decision=leader)
    # A leader with fewer votes than a short message can give moves nothing.
    faint = LanguageDecision("da", 0.6, False, "Tentatively Danish.", candidates=(("da", 0.6),), total_votes=0.1)
    assert not should_reroute(current="no", decision=faint)


# --- one readership: Croatian, Serbian and Bosnian ------------------------------


def test_croatian_serbian_and_bosnian_votes_count_together() -> None:
    # A message the detector splits three ways is one confident readership.
    split = [({"sr": 0.36, "hr": 0.33, "bs": 0.26, "sl": 0.05}, 1.0)]
    decision = decide_language(messages=split)
    assert decision.language == "sr"  # most votes, without a hint from the visitor
    assert decision.confident and decision.confidence == pytest.approx(0.95 / 1.15, abs=1e-3)
    assert "read alike with Bosnian and Croatian; the messages lean to Serbian" in decision.explanation


def test_the_visitors_own_language_names_the_variant() -> None:
    split = [({"sr": 0.36, "hr": 0.33, "bs": 0.26, "sl": 0.05}, 1.0)]
    by_panel = decide_language(messages=split, panel_language="hr")
    assert (by_panel.language, by_panel.confident) == ("hr", True)
    assert "the panel choice names Croatian" in by_panel.explanation
    by_browser = decide_language(messages=split, browser_languages=["bs-BA", "en"])
    assert by_browser.language == "bs"
    # A panel language outside the readership does not pick a variant.
    assert decide_language(messages=split, panel_language="de").language == "sr"


def test_no_reroute_within_a_readership() -> None:
    croatian = decide_language(messages=[({"hr": 0.9, "sr": 0.1}, 1.0)] * 3)
    assert croatian.language == "hr" and croatian.confident
    assert not should_reroute(current="sr", decision=croatian)
    assert not should_reroute(current="bs", decision=croatian)
    assert should_reroute(current="sl", decision=croatian)


def test_readership_of_a_language() -> None:
    assert readership("hr") == readership("bs") == frozenset({"hr", "sr", "bs"})
    assert readership("da") == frozenset({"da"})
