"""Benchmark the language detector backends on short support-chat messages.

    python bench/language.py [--backends combined,fasttext,py3langid,langdetect] [--repeat 5]

Prints one summary line per backend and writes nothing.  Each backend runs in
a fresh interpreter, so the resident memory it adds is its own: RSS after the
whole run minus RSS before chatserver.language was imported.  "load" is the
time to import the package and load the models.

Data, all in bench/data/ (see the header of each file):

* messages.tsv: labelled short messages, one language each, some with an
  equally valid look-alike alternative.  Split into dev and test halves by
  CRC32 of the text; constants were tuned on dev only (bench/tune_language.py).
  "strict" counts the first label only; "lenient" also accepts the listed
  alternatives and any of hr/sr/bs for hr/sr/bs.
* conversations.tsv: written conversations (greeting, problem, thanks...);
  the conversation counts when its final decision names its language.  Also
  built conversations: each language's test-half messages in file order,
  three at a time.  "routed" is where the conversation waits after its last
  message under the chat service's rule (the first message sets the
  language; later ones change it only on a confident decision for another
  language, decision.should_reroute), which is what routing sees.
* Look-alike messages again, with the browser language set to the labelled
  one (the usual case): strict accuracy shows how often the visitor's own
  settings name the exact sibling (Croatian rather than Serbian) when the
  text alone cannot.
* wrong_prior.tsv: clear messages with a wrong panel and browser language.
  Also built: every labelled message of at least MIN_CLEAR_WEIGHT with the
  panel set to an unrelated language ("en", or "de" for English), and, for
  look-alike languages, to a sibling.  "unchanged" is the share of unrelated
  cases whose answer is the same as without any prior: a prior must never
  override clear evidence, so anything below 100% is a prior doing harm.
* mixed.tsv: natural language mixed with order numbers, URLs, markup, logs.
* no_evidence.tsv: content-free messages; each must carry no weight at all.

No priors are used for the per-message and mixed figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import zlib
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
BACKENDS = ("combined", "fasttext", "py3langid", "langdetect")
BCMS = frozenset({"hr", "sr", "bs"})
# Languages of the look-alike groups the issue names, plus Macedonian.
LOOKALIKES = frozenset("es pt ca gl id ms no da sv cs sk hr sr bs ru uk bg mk hi mr ne".split())
# Messages at least this heavy count as clear evidence in the built wrong-prior cases.
MIN_CLEAR_WEIGHT = 0.6
# The look-alike groups, for the per-group figures (--per-language).
GROUPS = ("es pt ca gl", "id ms", "no da sv", "cs sk", "hr sr bs", "ru uk bg mk", "hi mr ne")
SIBLING_PANEL = {
    "es": "pt", "pt": "es", "ca": "es", "gl": "pt", "id": "ms", "ms": "id",
    "no": "da", "da": "no", "sv": "no", "cs": "sk", "sk": "cs", "hr": "sr", "sr": "hr", "bs": "hr",
    "ru": "uk", "uk": "ru", "bg": "ru", "mk": "bg", "hi": "ne", "mr": "hi", "ne": "hi",
}


# --- data -------------------------------------------------------------------------


def read_tsv(name: str) -> Iterable[list[str]]:
    """Yield the fields of each data line of bench/data/name, with \\n and \\t unescaped."""
    with open(DATA / name, encoding="utf-8") as handle:
        for line in handle:
            line = line.rstrip("\n")
            if line and not line.startswith("#"):
                yield [field.replace("\\n", "\n").replace("\\t", "\t") for field in line.split("\t")]


def split_of(text: str) -> str:
    """Return "dev" or "test" for a labelled message; fixed by its text, not chosen."""
    return "dev" if zlib.crc32(text.encode("utf-8")) % 2 == 0 else "test"


def load_messages() -> list[tuple[tuple[str, ...], str]]:
    """Return (accepted labels, first is the label; text) for every labelled message."""
    return [(tuple(labels.split("|")), text) for labels, text in read_tsv("messages.tsv")]


def load_conversations() -> list[tuple[str, list[str]]]:
    """Return (language, messages oldest first) for every written conversation."""
    conversations: dict[str, tuple[str, list[str]]] = {}
    for conversation_id, language, text in read_tsv("conversations.tsv"):
        conversations.setdefault(conversation_id, (language, []))[1].append(text)
    return list(conversations.values())


def built_conversations(messages: list[tuple[tuple[str, ...], str]], split: str) -> list[tuple[str, list[str]]]:
    """Return each language's messages of one split, three at a time, in file order."""
    by_language: dict[str, list[str]] = defaultdict(list)
    for labels, text in messages:
        if split == "all" or split_of(text) == split:
            by_language[labels[0]].append(text)
    built = []
    for language, texts in by_language.items():
        for start in range(0, len(texts) - 2, 3):
            built.append((language, texts[start : start + 3]))
    return built


def accepts(labels: Iterable[str], answer: str, *, lenient: bool) -> bool:
    """Return whether answer is right for labels, strictly or leniently."""
    labels = tuple(labels)
    if answer == labels[0]:
        return True
    if not lenient:
        return False
    return answer in labels or (labels[0] in BCMS and answer in BCMS)


# --- one backend, in this process ------------------------------------------------------


def _rss_mb() -> float:
    """Return this process's resident set size in MB."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # not Linux: peak RSS is the best portable figure
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def evaluate(detector: Any, *, repeat: int, split: str = "all") -> dict[str, Any]:
    """Run every benchmark part against one detector and return the figures."""
    from chatserver.language import decide_language, message_weight, should_reroute

    def decision(texts: list[str], panel: str | None = None, browser: tuple[str, ...] = ()) -> Any:
        evidence = []
        for text in texts:
            scores = detector.scores(text)
            evidence.append((scores, message_weight(text) if scores else 0.0))
        return decide_language(messages=evidence, panel_language=panel, browser_languages=browser)

    def decide(texts: list[str], panel: str | None = None, browser: tuple[str, ...] = ()) -> str:
        return decision(texts, panel, browser).language

    def routed(texts: list[str]) -> str:
        # The language a conversation waits in after its last message, by the
        # chat service's rule: the first message sets it, later ones change
        # it only on a confident decision for another language.
        current = None
        for count in range(1, len(texts) + 1):
            latest = decision(texts[:count])
            if current is None or current == "und" or should_reroute(current=current, decision=latest):
                current = latest.language
        return current or "und"

    messages = load_messages()
    result: dict[str, Any] = {"backend": detector.name}

    # Per message, no priors.
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    misses: list[tuple[str, str, str]] = []
    per_language: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for labels, text in messages:
        part = split_of(text)
        if split != "all" and part != split:
            continue
        answer = decide([text])
        for key in ("all", part):
            tally[key][0] += 1
            tally[key][1] += accepts(labels, answer, lenient=False)
            tally[key][2] += accepts(labels, answer, lenient=True)
        per_language[labels[0]][0] += 1
        per_language[labels[0]][1] += accepts(labels, answer, lenient=False)
        per_language[labels[0]][2] += accepts(labels, answer, lenient=True)
        kind = "lookalike" if labels[0] in LOOKALIKES else "distinct"
        tally[kind][0] += 1
        tally[kind][1] += accepts(labels, answer, lenient=False)
        tally[kind][2] += accepts(labels, answer, lenient=True)
        if not accepts(labels, answer, lenient=False):
            misses.append((labels[0], answer, text))
    result["messages"] = {key: value for key, value in tally.items()}
    result["languages"] = len(per_language)
    result["per_language"] = {code: hits / total for code, (total, hits, _) in sorted(per_language.items())}
    result["per_group"] = {}
    for group in GROUPS:
        counts = [per_language[code] for code in group.split() if code in per_language]
        if counts:
            result["per_group"][group.replace(" ", "/")] = [sum(count[index] for count in counts) for index in range(3)]
    result["misses"] = misses

    # Conversations of three or more messages.
    written = load_conversations()
    built = built_conversations(messages, "test" if split == "all" else split)
    for key, conversations in (("written", written), ("built", built)):
        strict = lenient = routed_strict = routed_lenient = 0
        for language, texts in conversations:
            answer = decide(texts)
            strict += accepts((language,), answer, lenient=False)
            lenient += accepts((language,), answer, lenient=True)
            where = routed(texts)
            routed_strict += accepts((language,), where, lenient=False)
            routed_lenient += accepts((language,), where, lenient=True)
        result[f"conversations_{key}"] = [len(conversations), strict, lenient, routed_strict, routed_lenient]

    # Look-alike messages with the visitor's browser set to their language,
    # the usual case: how often the exact sibling comes out (strict).
    own_total = own_right = 0
    for labels, text in messages:
        if labels[0] in LOOKALIKES and (split == "all" or split_of(text) == split):
            own_total += 1
            own_right += decide([text], None, (labels[0],)) == labels[0]
    result["own_browser_lookalikes"] = [own_total, own_right]

    # Wrong priors.
    written_prior = [
        (language, panel or None, tuple(tag for tag in browser.split(",") if tag), text)
        for language, panel, browser, text in read_tsv("wrong_prior.tsv")
    ]
    unrelated, sibling = [], []
    for labels, text in messages:
        if split != "all" and split_of(text) != split:
            continue
        if message_weight(text) < MIN_CLEAR_WEIGHT:
            continue
        unrelated.append((labels, "de" if labels[0] == "en" else "en", (), text))
        if labels[0] in SIBLING_PANEL and SIBLING_PANEL[labels[0]] not in labels:
            sibling.append((labels, SIBLING_PANEL[labels[0]], (), text))
    for key, cases in (
        ("prior_written", [((language,), panel, browser, text) for language, panel, browser, text in written_prior]),
        ("prior_unrelated", unrelated),
        ("prior_sibling", sibling),
    ):
        strict = lenient = kept = 0
        for labels, panel, browser, text in cases:
            answer = decide([text], panel, browser)
            strict += accepts(labels, answer, lenient=False)
            lenient += accepts(labels, answer, lenient=True)
            # The prior changed nothing: the answer is the one without priors.
            kept += answer == decide([text])
        result[key] = [len(cases), strict, lenient, kept]

    # Mixed messages and content-free messages.
    mixed = list(read_tsv("mixed.tsv"))
    result["mixed"] = [len(mixed), sum(decide([text]) == language for language, text in mixed)]
    empty = [text for (text,) in read_tsv("no_evidence.tsv")]
    result["no_evidence"] = [
        len(empty),
        sum(detector.scores(text) == {} and message_weight(text) == 0.0 for text in empty),
    ]

    # Cost per message: every labelled message, `repeat` rounds after a warm-up round.
    texts = [text for _, text in messages]
    for text in texts:
        detector.scores(text)
    costs = []
    clock = time.perf_counter_ns
    for _ in range(repeat):
        for text in texts:
            start = clock()
            detector.scores(text)
            costs.append(clock() - start)
    costs.sort()
    result["median_ms"] = statistics.median(costs) / 1e6
    result["p99_ms"] = costs[min(len(costs) - 1, int(len(costs) * 0.99))] / 1e6
    return result


def _worker(backend: str, repeat: int, split: str) -> None:
    """Measure one backend in this fresh process and print its figures as JSON."""
    sys.path.insert(0, str(ROOT))
    # Before importing anything of ours: the package's own tables count too.
    before = _rss_mb()
    start = time.perf_counter()
    import chatserver.language as language

    detector = language.make_detector(backend)
    load_seconds = time.perf_counter() - start
    loaded = _rss_mb()
    result = evaluate(detector, repeat=repeat, split=split)
    result["load_s"] = load_seconds
    result["rss_load_mb"] = loaded - before
    result["rss_run_mb"] = _rss_mb() - before
    print(json.dumps(result))


# --- the summary --------------------------------------------------------------------


def _pct(hits: int, total: int) -> str:
    return f"{100.0 * hits / total:.1f}%" if total else "n/a"


def summary_line(result: dict[str, Any]) -> str:
    """Return one line with every figure for one backend."""
    messages = result["messages"]
    total, strict, lenient = messages["all"]
    parts = [f"{result['backend']:<10}"]
    line = f"per message {_pct(strict, total)} strict, {_pct(lenient, total)} lenient"
    halves = [
        f"{key} {_pct(messages[key][1], messages[key][0])}/{_pct(messages[key][2], messages[key][0])}"
        for key in ("dev", "test")
        if key in messages
    ]
    if halves:
        line += f" ({', '.join(halves)})"
    distinct, lookalike = messages.get("distinct", [0, 0, 0]), messages.get("lookalike", [0, 0, 0])
    line += (
        f"; distinct languages {_pct(distinct[1], distinct[0])}, look-alikes {_pct(lookalike[1], lookalike[0])}"
        f"/{_pct(lookalike[2], lookalike[0])}"
    )
    parts.append(line + f"; n={total} in {result['languages']} languages")
    written, built = result["conversations_written"], result["conversations_built"]
    parts.append(
        f"conversations {_pct(written[1] + built[1], written[0] + built[0])} strict,"
        f" {_pct(written[2] + built[2], written[0] + built[0])} lenient"
        f" (written {written[1]}/{written[0]}, built {built[1]}/{built[0]});"
        f" routed {_pct(written[3] + built[3], written[0] + built[0])}"
        f"/{_pct(written[4] + built[4], written[0] + built[0])}"
    )
    written_prior, unrelated, sibling = result["prior_written"], result["prior_unrelated"], result["prior_sibling"]
    parts.append(
        f"wrong prior {_pct(written_prior[1], written_prior[0])} written,"
        f" {_pct(unrelated[1], unrelated[0])} unrelated ({_pct(unrelated[3], unrelated[0])} unchanged),"
        f" {_pct(sibling[1], sibling[0])} sibling"
    )
    own = result["own_browser_lookalikes"]
    parts.append(f"look-alikes with own browser language {_pct(own[1], own[0])} strict")
    parts.append(f"mixed {result['mixed'][1]}/{result['mixed'][0]}")
    parts.append(f"no evidence {result['no_evidence'][1]}/{result['no_evidence'][0]}")
    parts.append(f"median {result['median_ms']:.3f} ms, p99 {result['p99_ms']:.3f} ms")
    parts.append(f"+{result['rss_run_mb']:.0f} MB RSS, load {result['load_s']:.2f} s")
    return " | ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated backends to run")
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds over the labelled messages")
    parser.add_argument("--split", choices=("all", "dev", "test"), default="all",
                        help="labelled messages to score (timing always uses all)")
    parser.add_argument("--misses", action="store_true", help="also print each missed message (for the dev split)")
    parser.add_argument("--per-language", action="store_true",
                        help="also print strict accuracy per language and strict/lenient per look-alike group")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.worker, args.repeat, args.split)
        return 0
    status = 0
    for backend in (name.strip() for name in args.backends.split(",") if name.strip()):
        completed = subprocess.run(
            [sys.executable, __file__, "--worker", backend, "--repeat", str(args.repeat), "--split", args.split],
            capture_output=True, text=True, cwd=ROOT,
        )
        if completed.returncode != 0:
            print(f"{backend:<10} | failed: {completed.stderr.strip().splitlines()[-1:]}")
            status = 1
            continue
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        print(summary_line(result))
        if args.per_language:
            print("    " + " ".join(f"{code} {share:.0%}" for code, share in result["per_language"].items()))
            print(
                "    groups, strict/lenient: "
                + ", ".join(
                    f"{group} {_pct(strict, total)}/{_pct(lenient, total)} (n={total})"
                    for group, (total, strict, lenient) in result["per_group"].items()
                )
            )
        if args.misses:
            for language, answer, text in result["misses"]:
                if args.split != "all" or split_of(text) == "dev":
                    print(f"    miss {language} -> {answer}: {text}")
    return status


if __name__ == "__main__":
    sys.exit(main())
