"""Grid-search the combined detector's constants on the dev half of the labelled set.

    python bench/tune_language.py

Prints one line per setting, best last.  Only dev-split messages are scored
(bench/language.py's split_of), so the test half stays a fair check of the
chosen constants.  This is how the constants at the top of
chatserver/language/backends.py's combination section were chosen; it
changes nothing itself.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from language import accepts, load_messages, split_of  # noqa: E402

from chatserver.language import backends, decide_language, make_detector, message_weight  # noqa: E402
from chatserver.language import lexicon as lexicon_module  # noqa: E402

GRID = {
    "FASTTEXT_WEIGHT": (0.0, 0.3, 0.5, 1.0),
    # 1.0 scores two or three more dev messages right (strict), but makes
    # py3langid's one-word guesses so peaked that "danke" unsettles a visitor's
    # English panel choice (tests/language/test_decision.py,
    # test_weak_message_does_not_override_panel): not offered.
    "LANGID_WEIGHT": (0.0, 0.5),
    "GROUP_TEMPERATURE": (0.3, 0.5, 1.0),
    "MARKER_WEIGHT": (1.0, 1.5, 2.5),
    "LEXICON_WEIGHT": (0.0, 0.5, 1.0, 2.0),
    # lexicon.py: a word no listed sibling knows, for a sibling without a list.
    "UNKNOWN_WORD_DECADES": (0.0, 0.5, 1.0),
}


def dev_accuracy(detector) -> tuple[float, float]:
    """Return (strict, lenient) accuracy on the dev half, no priors."""
    strict = lenient = total = 0
    for labels, text in load_messages():
        if split_of(text) != "dev":
            continue
        scores = detector.scores(text)
        answer = decide_language(messages=[(scores, message_weight(text) if scores else 0.0)]).language
        total += 1
        strict += accepts(labels, answer, lenient=False)
        lenient += accepts(labels, answer, lenient=True)
    return strict / total, lenient / total


def main() -> None:
    detector = make_detector("combined")
    results = []
    for values in itertools.product(*GRID.values()):
        setting = dict(zip(GRID, values))
        if setting["FASTTEXT_WEIGHT"] == 0 and setting["LANGID_WEIGHT"] == 0:
            continue
        for name, value in setting.items():
            setattr(lexicon_module if name == "UNKNOWN_WORD_DECADES" else backends, name, value)
        strict, lenient = dev_accuracy(detector)
        results.append((lenient, strict, setting))
    # Best dev accuracy, lenient then strict.  Ties go to the setting that
    # intervenes least: the models' preference flattened least (higher
    # GROUP_TEMPERATURE), then the weakest markers and word frequencies, then
    # the lightest weights.
    results.sort(
        key=lambda item: (
            item[0],
            item[1],
            item[2]["GROUP_TEMPERATURE"],
            -item[2]["MARKER_WEIGHT"],
            -item[2]["LEXICON_WEIGHT"],
            -item[2]["UNKNOWN_WORD_DECADES"],
            -item[2]["FASTTEXT_WEIGHT"] - item[2]["LANGID_WEIGHT"],
        )
    )
    for lenient, strict, setting in results[-10:]:
        print(f"dev lenient {lenient:.1%} strict {strict:.1%}  {setting}")
    print(f"chosen: {results[-1][2]}")


if __name__ == "__main__":
    main()
