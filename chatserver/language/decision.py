"""Decide a conversation's language from its messages and the visitor's hints.

The model is a weighted vote, kept deliberately simple so agents and admins
can reason about it:

* Every visitor message votes ``weight * probability`` for each language its
  detector scores name.  ``message_weight`` grows with the message's letters
  and saturates at 1, but stays tiny for a single short word (n-gram models are
  close to random below ~8 letters: "hello" -> Finnish, "ok" -> Slovak).
* Older evidence fades by RECENCY_DECAY per *newer evidence-bearing* message,
  so a visitor who switches language is followed after a few clear messages,
  while "ok"/"thanks"/log pastes (weight 0) neither vote nor age anything.
* The visitor's panel language adds PANEL_PRIOR votes and browser languages
  add BROWSER_PRIOR, halving for each later language.  Both are priors, and
  they yield to evidence against them: each is scaled by (1 - c)^2, where c
  is the strongest message's weight times the probability it gives to *other*
  languages (``_contradiction``).  One clear Japanese sentence cancels a panel
  choice of German; a message the detector splits between Norwegian and
  Danish leaves enough of a Danish panel choice to tip the split: priors break
  ties between look-alikes, they never override clear evidence.
* The winner is *confident* only when it leads every other language by
  MIN_MARGIN votes and holds at least MIN_CONFIDENCE of all votes (plus an
  UNKNOWN_MASS pseudo-vote for "can't tell").  A panel choice alone is
  confident (the visitor picked it), and stays so next to a
  stray short word; a browser language alone or a single short word is not.
* Changing language (``should_reroute``) needs a confident decision for
  another language, or a tentative one that has left the current language
  behind (at most a quarter of the leader's share): the first message routes
  the conversation however weak it is, and a guess like "bok" read as
  Norwegian must not hold a Croatian visitor once they have written more.
* Flip guarantee (checked by a randomised test): neutral messages have
  weight 0, and a single message of at most 6 letters (3 CJK characters)
  weighs < 0.17, so it cannot open a MIN_MARGIN lead for a language that was
  not already ahead, even counting the prior it shaves off its rival.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

from .cleaning import evidence_units
from .detector import UNDETERMINED
from .names import LANGUAGES, normalize_code, readership

__all__ = [
    "LanguageDecision",
    "message_weight",
    "decide_language",
    "should_reroute",
    "WEIGHT_SCALE_UNITS",
    "PANEL_PRIOR",
    "BROWSER_PRIOR",
    "RECENCY_DECAY",
    "MIN_MARGIN",
    "MIN_CONFIDENCE",
    "UNKNOWN_MASS",
    "MAX_CANDIDATES",
    "ABANDON_RATIO",
    "ABANDON_MIN_VOTES",
]

# message_weight = 1 - exp(-(units / WEIGHT_SCALE_UNITS) ** 2): 5 letters ->
# 0.12, 10 -> 0.40, 14 -> 0.63, 20 -> 0.87, 30+ -> ~1.  The square keeps very
# short texts near zero, where n-gram detection is unreliable.
WEIGHT_SCALE_UNITS = 14.0

PANEL_PRIOR = 0.45
BROWSER_PRIOR = 0.15
RECENCY_DECAY = 0.85
MIN_MARGIN = 0.3
MIN_CONFIDENCE = 0.5
UNKNOWN_MASS = 0.15
# should_reroute follows a tentative decision away from a language holding at
# most 1/ABANDON_RATIO of the leader's share, once the leader has
# ABANDON_MIN_VOTES votes (a message of six letters gives less than 0.17).
ABANDON_RATIO = 4.0
ABANDON_MIN_VOTES = MIN_MARGIN
# Candidates kept on a decision for the agent console.
MAX_CANDIDATES = 5


@dataclass(frozen=True)
class LanguageDecision:
    """A conversation language decision with the evidence behind it."""

    language: str  # ISO 639-1 code, or "und"
    confidence: float  # 0..1: the winner's share of all votes
    confident: bool  # enough evidence to (re)route on
    explanation: str  # one human sentence for agents
    # (code, share of all votes), best first, at most MAX_CANDIDATES.
    candidates: tuple[tuple[str, float], ...] = ()
    # (source, code, votes) per prior: source "panel" or "browser"; votes after
    # the discount for contradicting messages, so 0.0 means "overruled".
    priors: tuple[tuple[str, str, float], ...] = ()
    messages_counted: int = 0  # visitor messages that carried language evidence
    messages_total: int = 0  # visitor messages considered
    total_votes: float = 0.0  # all votes cast, messages and priors (shares are of this plus UNKNOWN_MASS)

    def as_dict(self) -> dict[str, object]:
        """Return the decision as JSON-ready data for the agent console."""
        return {
            "language": self.language,
            "name": _display_name(self.language),
            "confidence": self.confidence,
            "confident": self.confident,
            "explanation": self.explanation,
            "candidates": [
                {"language": code, "name": _display_name(code), "score": score} for code, score in self.candidates
            ],
            "priors": [
                {"source": source, "language": code, "name": _display_name(code), "weight": weight}
                for source, code, weight in self.priors
            ],
            "messages_counted": self.messages_counted,
            "messages_total": self.messages_total,
        }


def message_weight(text: str) -> float:
    """Return how much language evidence one message carries, from 0 (none) to 1."""
    units = evidence_units(text)
    if units <= 0:
        return 0.0
    return 1.0 - math.exp(-((units / WEIGHT_SCALE_UNITS) ** 2))


def _display_name(code: str) -> str:
    """Return the English name for code, "unknown" for und, or the code itself when unlisted."""
    if code == UNDETERMINED:
        return "unknown"
    entry = LANGUAGES.get(code)
    return entry[0] if entry else code


def _clean_scores(scores: Mapping[str, float]) -> dict[str, float]:
    """Return scores with normalised codes, finite probabilities in 0..1 and total <= 1."""
    result: dict[str, float] = {}
    for raw_code, raw_prob in scores.items():
        code = normalize_code(raw_code) if isinstance(raw_code, str) else None
        try:
            prob = float(raw_prob)
        except (TypeError, ValueError):
            continue
        if code is None or not math.isfinite(prob) or prob <= 0:
            continue
        result[code] = result.get(code, 0.0) + min(prob, 1.0)
    total = sum(result.values())
    # A detector that over-reports must not cast more than one vote per unit weight.
    if total > 1.0:
        result = {code: prob / total for code, prob in result.items()}
    return result


def _clean_weight(weight: float) -> float:
    """Return weight clamped to 0..1, with junk treated as no evidence."""
    try:
        value = float(weight)
    except (TypeError, ValueError):
        return 0.0
    if not math.isfinite(value):
        return 0.0
    return min(max(value, 0.0), 1.0)


def _browser_priors(browser_languages: Sequence[str]) -> dict[str, float]:
    """Return code -> prior votes for browser languages, first strongest, junk ignored."""
    priors: dict[str, float] = {}
    strength = BROWSER_PRIOR
    if isinstance(browser_languages, str):
        # A raw Accept-Language header or a single tag passed by mistake.
        browser_languages = browser_languages.split(",")
    for tag in browser_languages:
        code = normalize_code(tag) if isinstance(tag, str) else None
        if code is None or code in priors:
            # "de-DE, de" names one language once; only new codes use up a rank.
            continue
        priors[code] = strength
        strength /= 2
    return priors


def decide_language(
    *,
    messages: Sequence[tuple[Mapping[str, float], float]],
    panel_language: str | None = None,
    browser_languages: Sequence[str] = (),
) -> LanguageDecision:
    """Return the conversation language from per-message (scores, weight), oldest first, and priors."""
    evidence = [
        (_clean_scores(scores), _clean_weight(weight)) for scores, weight in messages
    ]
    evidence = [(scores, weight) for scores, weight in evidence if scores and weight > 0]

    votes: dict[str, float] = {}
    decay = 1.0
    # Walk newest first so each older evidence-bearing message fades once more.
    for scores, weight in reversed(evidence):
        for code, prob in scores.items():
            votes[code] = votes.get(code, 0.0) + decay * weight * prob
        decay *= RECENCY_DECAY
    message_votes = dict(votes)

    panel = normalize_code(panel_language) if panel_language else None
    browser = _browser_priors(browser_languages)
    priors: list[tuple[str, str, float]] = []
    for source, code, prior in ([("panel", panel, PANEL_PRIOR)] if panel else []) + [
        ("browser", code, prior) for code, prior in browser.items()
    ]:
        prior *= (1.0 - _contradiction(code, evidence)) ** 2
        votes[code] = votes.get(code, 0.0) + prior
        priors.append((source, code, round(prior, 4)))

    if not votes:
        return LanguageDecision(
            language=UNDETERMINED,
            confidence=0.0,
            confident=False,
            explanation="Language unknown: no message with language evidence and no panel or browser language.",
            messages_total=len(messages),
        )

    # Ties go to the panel language, then browser order, then alphabetical,
    # so equal votes always produce the same answer.
    preference = {code: rank for rank, code in enumerate(([panel] if panel else []) + list(browser))}

    def order(item: tuple[str, float]) -> tuple[float, int, str]:
        return (-item[1], preference.get(item[0], len(preference)), item[0])

    ranked = sorted(votes.items(), key=order)
    # The contest is between readerships (names.READERSHIPS): Croatian,
    # Serbian and Bosnian votes add up, because what routing needs is an agent
    # who reads the visitor.  Within the winning readership the visitor's own
    # panel or browser language names the variant; without one, the member
    # with most votes does.
    readership_votes: dict[frozenset[str], float] = {}
    for code, count in votes.items():
        readership_votes[readership(code)] = readership_votes.get(readership(code), 0.0) + count
    best = ranked[0][0]
    best_readership = readership(best)
    best_votes = readership_votes[best_readership]
    if len(best_readership) > 1:
        chosen = next((code for code in preference if code in best_readership), None)
        if chosen is not None:
            best = chosen
    runner_up_votes = max((count for group, count in readership_votes.items() if group != best_readership), default=0.0)
    total = sum(votes.values()) + UNKNOWN_MASS
    confidence = best_votes / total
    confident = best_votes - runner_up_votes >= MIN_MARGIN and confidence >= MIN_CONFIDENCE
    candidates = tuple((code, round(count / total, 4)) for code, count in ranked[:MAX_CANDIDATES])

    explanation = _explain(
        best=best,
        confidence=confidence,
        confident=confident,
        candidates=candidates,
        evidence=evidence,
        message_votes=message_votes,
        panel=panel,
        browser=list(browser),
    )
    return LanguageDecision(
        language=best,
        confidence=round(confidence, 4),
        confident=confident,
        explanation=explanation,
        candidates=candidates,
        priors=tuple(priors),
        messages_counted=len(evidence),
        messages_total=len(messages),
        total_votes=round(total - UNKNOWN_MASS, 4),
    )


def _contradiction(code: str, evidence: Sequence[tuple[dict[str, float], float]]) -> float:
    """Return how strongly the messages say the visitor is not writing code, 0..1.

    The strongest single message counts, faded like its votes: one clear
    Japanese sentence cancels a panel choice of German; a message split
    between Norwegian and Danish leaves much of a Danish panel choice, so it
    can tip the split; one short word takes at most its own weight (< 0.17
    for six letters) off a prior.
    """
    strongest = 0.0
    decay = 1.0
    for scores, weight in reversed(evidence):
        strongest = max(strongest, decay * weight * (1.0 - min(scores.get(code, 0.0), 1.0)))
        decay *= RECENCY_DECAY
    return strongest


def _explain(
    *,
    best: str,
    confidence: float,
    confident: bool,
    candidates: Sequence[tuple[str, float]],
    evidence: Sequence[tuple[dict[str, float], float]],
    message_votes: Mapping[str, float],
    panel: str | None,
    browser: Sequence[str],
) -> str:
    """Return one sentence telling an agent why best was chosen and what else was considered."""
    family = readership(best)
    supporting = sum(1 for scores, _ in evidence if max(scores, key=scores.__getitem__) in family)
    sources = []
    if any(message_votes.get(code, 0.0) > 0 for code in family) and supporting:
        plural = "message" if supporting == 1 else "messages"
        count = str(supporting) if supporting == len(evidence) else f"{supporting} of {len(evidence)}"
        sources.append(f"{count} {plural}" if supporting == len(evidence) else f"{count} messages")
    if panel == best:
        sources.append("the panel choice")
    if best in browser:
        sources.append("the browser language")
    source = " and ".join(sources) if sources else "weak message evidence"
    sentence = f"{_display_name(best)} from {source} (confidence {confidence:.2f})"
    if len(family) > 1:
        siblings = " and ".join(_display_name(code) for code in sorted(family - {best}))
        chooser = (
            "the panel choice names" if panel == best else "the browser language names" if best in browser
            else "the messages lean to"
        )
        sentence += f", read alike with {siblings}; {chooser} {_display_name(best)}"
    runner_up = next(((code, share) for code, share in candidates if code not in family), None)
    if runner_up is not None and runner_up[1] >= 0.1:
        sentence += f", ahead of {_display_name(runner_up[0])} ({runner_up[1]:.2f})"
    if panel is not None and panel not in family:
        sentence += f"; the panel choice {_display_name(panel)} is outweighed"
    elif panel is None and browser and browser[0] not in family:
        sentence += f"; the browser language {_display_name(browser[0])} is outweighed"
    if not evidence:
        sentence += "; no message with language evidence yet"
    if not confident:
        return f"Tentatively {sentence}; not enough evidence to route on."
    return sentence + "."


def should_reroute(*, current: str | None, decision: LanguageDecision) -> bool:
    """Return True when the decision names another readership and either is confident or has left current behind."""
    if decision.language == UNDETERMINED:
        return False
    if current is None:
        return decision.confident
    current_code = normalize_code(current) or current.strip().lower()
    if decision.language in readership(current_code):
        # Croatian to Serbian is no change of readership: the agent who reads
        # one reads the other, and moving queues would only cost the visitor.
        return False
    if decision.confident:
        return True
    # A conversation is first routed on its first message, however weak ("bok"
    # read as Norwegian).  When the evidence since has all but abandoned that
    # guess, staying would keep the visitor where nobody reads them: follow
    # the leader, once it has more votes than one short message can give (so
    # a single "danke" never moves anything).
    current_share = sum(share for code, share in decision.candidates if code in readership(current_code))
    leader_votes = decision.confidence * (decision.total_votes + UNKNOWN_MASS)
    return leader_votes >= ABANDON_MIN_VOTES and current_share * ABANDON_RATIO <= decision.confidence
