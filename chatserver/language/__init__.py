"""Language detection and per-conversation language decisions for routing."""

from .backends import CombinedDetector, FastTextDetector, ModelUnavailable, Py3LangidDetector
from .cleaning import clean_text, evidence_text
from .decision import LanguageDecision, decide_language, message_weight, should_reroute
from .detector import (
    DEFAULT_DETECTOR,
    DETECTORS,
    UNDETERMINED,
    Detector,
    LangdetectDetector,
    detect,
    make_detector,
)
from .names import LANGUAGES, is_known, language_name, native_name, normalize_code

__all__ = [
    "Detector",
    "CombinedDetector",
    "FastTextDetector",
    "Py3LangidDetector",
    "LangdetectDetector",
    "ModelUnavailable",
    "make_detector",
    "detect",
    "DETECTORS",
    "DEFAULT_DETECTOR",
    "UNDETERMINED",
    "clean_text",
    "evidence_text",
    "LanguageDecision",
    "decide_language",
    "message_weight",
    "should_reroute",
    "LANGUAGES",
    "language_name",
    "native_name",
    "is_known",
    "normalize_code",
]
