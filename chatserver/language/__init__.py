"""Language detection and per-conversation language decisions for routing."""

from .decision import LanguageDecision, decide_language, message_weight, should_reroute
from .detector import Detector, LangdetectDetector, clean_text, detect, make_detector
from .names import LANGUAGES, is_known, language_name, native_name, normalize_code

__all__ = [
    "Detector",
    "LangdetectDetector",
    "make_detector",
    "detect",
    "clean_text",
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
