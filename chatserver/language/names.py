"""Static table of language names and normalisation of language tags."""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Mapping

__all__ = ["LANGUAGES", "READERSHIPS", "language_name", "native_name", "is_known", "normalize_code", "readership"]

# ISO 639-1 code -> (English name, native name).  Covers every language
# langdetect can output plus common support languages it cannot detect, so
# agents' panel lists and browser tags can name them too.
LANGUAGES: dict[str, tuple[str, str]] = {
    "af": ("Afrikaans", "Afrikaans"),
    "am": ("Amharic", "አማርኛ"),
    "ar": ("Arabic", "العربية"),
    "az": ("Azerbaijani", "Azərbaycanca"),
    "be": ("Belarusian", "Беларуская"),
    "bg": ("Bulgarian", "Български"),
    "bn": ("Bengali", "বাংলা"),
    "bs": ("Bosnian", "Bosanski"),
    "ca": ("Catalan", "Català"),
    "cs": ("Czech", "Čeština"),
    "cy": ("Welsh", "Cymraeg"),
    "da": ("Danish", "Dansk"),
    "de": ("German", "Deutsch"),
    "el": ("Greek", "Ελληνικά"),
    "en": ("English", "English"),
    "es": ("Spanish", "Español"),
    "et": ("Estonian", "Eesti"),
    "eu": ("Basque", "Euskara"),
    "fa": ("Persian", "فارسی"),
    "fi": ("Finnish", "Suomi"),
    "fr": ("French", "Français"),
    "fy": ("Western Frisian", "Frysk"),
    "ga": ("Irish", "Gaeilge"),
    "gl": ("Galician", "Galego"),
    "gu": ("Gujarati", "ગુજરાતી"),
    "ha": ("Hausa", "Hausa"),
    "he": ("Hebrew", "עברית"),
    "hi": ("Hindi", "हिन्दी"),
    "hr": ("Croatian", "Hrvatski"),
    "hu": ("Hungarian", "Magyar"),
    "hy": ("Armenian", "Հայերեն"),
    "id": ("Indonesian", "Bahasa Indonesia"),
    "ig": ("Igbo", "Asụsụ Igbo"),
    "is": ("Icelandic", "Íslenska"),
    "it": ("Italian", "Italiano"),
    "ja": ("Japanese", "日本語"),
    "ka": ("Georgian", "ქართული"),
    "kk": ("Kazakh", "Қазақ тілі"),
    "km": ("Khmer", "ខ្មែរ"),
    "kn": ("Kannada", "ಕನ್ನಡ"),
    "ko": ("Korean", "한국어"),
    "ku": ("Kurdish", "Kurdî"),
    "ky": ("Kyrgyz", "Кыргызча"),
    "lb": ("Luxembourgish", "Lëtzebuergesch"),
    "lo": ("Lao", "ລາວ"),
    "lt": ("Lithuanian", "Lietuvių"),
    "lv": ("Latvian", "Latviešu"),
    "mk": ("Macedonian", "Македонски"),
    "ml": ("Malayalam", "മലയാളം"),
    "mn": ("Mongolian", "Монгол"),
    "mr": ("Marathi", "मराठी"),
    "ms": ("Malay", "Bahasa Melayu"),
    "mt": ("Maltese", "Malti"),
    "my": ("Burmese", "မြန်မာဘာသာ"),
    "ne": ("Nepali", "नेपाली"),
    "nl": ("Dutch", "Nederlands"),
    "no": ("Norwegian", "Norsk"),
    "pa": ("Punjabi", "ਪੰਜਾਬੀ"),
    "pl": ("Polish", "Polski"),
    "ps": ("Pashto", "پښتو"),
    "pt": ("Portuguese", "Português"),
    "ro": ("Romanian", "Română"),
    "ru": ("Russian", "Русский"),
    "si": ("Sinhala", "සිංහල"),
    "sk": ("Slovak", "Slovenčina"),
    "sl": ("Slovenian", "Slovenščina"),
    "so": ("Somali", "Soomaali"),
    "sq": ("Albanian", "Shqip"),
    "sr": ("Serbian", "Српски"),
    "sv": ("Swedish", "Svenska"),
    "sw": ("Swahili", "Kiswahili"),
    "ta": ("Tamil", "தமிழ்"),
    "te": ("Telugu", "తెలుగు"),
    "tg": ("Tajik", "Тоҷикӣ"),
    "th": ("Thai", "ไทย"),
    "tl": ("Tagalog", "Tagalog"),
    "tr": ("Turkish", "Türkçe"),
    "uk": ("Ukrainian", "Українська"),
    "ur": ("Urdu", "اردو"),
    "uz": ("Uzbek", "Oʻzbekcha"),
    "vi": ("Vietnamese", "Tiếng Việt"),
    "xh": ("Xhosa", "isiXhosa"),
    "yo": ("Yoruba", "Yorùbá"),
    "zh": ("Chinese", "中文"),
    "zu": ("Zulu", "isiZulu"),
}

# Deprecated or alternative primary subtags that browsers and old systems
# still send, mapped to the code LANGUAGES uses.
_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "iw": "he",  # pre-1989 ISO code for Hebrew (Java, old Android)
        "in": "id",  # pre-1989 ISO code for Indonesian
        "nb": "no",  # Bokmål: langdetect and agents treat it as Norwegian
        "nn": "no",  # Nynorsk, likewise
        "fil": "tl",  # Filipino is standardised Tagalog
        "tgl": "tl",
        "sh": "hr",  # retired Serbo-Croatian; hr is the closest listed code
        "mo": "ro",  # retired Moldavian code
        "cmn": "zh",
        "yue": "zh",
        "zho": "zh",
        "chi": "zh",
        "eng": "en",
        "deu": "de",
        "ger": "de",
        "fra": "fr",
        "fre": "fr",
        "spa": "es",
        "ita": "it",
        "por": "pt",
        "rus": "ru",
        "jpn": "ja",
        "kor": "ko",
        "ara": "ar",
        "nld": "nl",
        "dut": "nl",
        "pol": "pl",
        "tur": "tr",
    }
)

# A primary subtag is 2-3 ASCII letters; subtags after it are 1-8
# alphanumerics.  "_" is accepted because Java/POSIX locales use it (pt_BR).
# Languages whose readers read each other's writing without effort: one
# readership for routing.  Croatian, Serbian and Bosnian are one pluricentric
# language; a short message often reads the same in all three (see
# docs/language.md).  Danish and Norwegian Bokmål come close in writing, but
# their speakers do not expect to be answered in the other, so they stay apart.
READERSHIPS: tuple[frozenset[str], ...] = (frozenset({"hr", "sr", "bs"}),)
_READERSHIP_OF: Mapping[str, frozenset[str]] = MappingProxyType(
    {code: group for group in READERSHIPS for code in group}
)


def readership(code: str) -> frozenset[str]:
    """Return the languages a reader of code reads without effort, code included."""
    return _READERSHIP_OF.get(code) or frozenset({code})


_TAG_RE = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]{1,8})*$")


def language_name(code: str) -> str:
    """Return the English name of a known language code; raise KeyError otherwise."""
    return LANGUAGES[code][0]


def native_name(code: str) -> str:
    """Return the language's name in that language; raise KeyError for unknown codes."""
    return LANGUAGES[code][1]


def is_known(code: str) -> bool:
    """Return whether code is a code listed in LANGUAGES."""
    return isinstance(code, str) and code in LANGUAGES


def normalize_code(tag: str) -> str | None:
    """Return the ISO 639-1 code for a BCP 47-ish tag ("pt-BR" -> "pt"), or None for junk."""
    if not isinstance(tag, str):
        return None
    # Accept-Language items may carry a quality suffix ("de-DE;q=0.8").
    cleaned = tag.split(";", 1)[0].strip().lower()
    match = _TAG_RE.match(cleaned)
    if match is None:
        return None
    primary = _ALIASES.get(match.group(1), match.group(1))
    # Only two-letter codes are routable; 3-letter codes without an alias
    # (e.g. "haw") have no ISO 639-1 form we could route on.
    if len(primary) != 2:
        return None
    # Unknown two-letter codes (e.g. "yi", "xx") are rejected as well so a
    # junk tag can never become a routing prior.
    return primary if primary in LANGUAGES else None
