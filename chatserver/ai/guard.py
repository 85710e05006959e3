"""A deterministic first line against prompt injection and account requests, before any model call.

The system prompt already tells the model to refuse these; this guard makes
the outcome independent of the model's obedience. A matching message is
never sent to the model: the conversation goes to a human, who can verify
the client and act. Patterns cover the common phrasings in the widget's most
frequent languages; the model's own refusal covers the rest.
"""
from __future__ import annotations

import re
import unicodedata

_PATTERNS: dict[str, list[str]] = {
    # Attempts to override or extract the instructions.
    "instructions": [
        r"\b(ignore|disregard|forget|override|bypass)\b.{0,40}\b(instructions?|rules|prompt|guidelines|directives)\b",
        r"\byou are now\b|\bact as (an? )?(admin|developer|system)\b|\bdeveloper mode\b|\bjailbreak\b|\bdan mode\b",
        r"\bignor(e|ez|iere|ieren|a|ar)\b.{0,40}\b(instructions?|consignes|anweisungen|instrucciones|istruzioni|instruções|regeln|règles|reglas|regole)\b",
        r"\b(oubli|vergiss|olvid|dimentic|esqueç)\w*\b.{0,40}\b(instructions|consignes|anweisungen|instrucciones|istruzioni|instruções)\b",
        r"игнорируй.{0,40}инструкци|забудь.{0,40}инструкци",
        r"(無視|忘れ).{0,20}(指示|命令|プロンプト)|(指示|命令|プロンプト).{0,20}(無視|忘れ)",
        r"忽略.{0,20}(指令|指示|提示)",
    ],
    "prompt_leak": [
        r"\b(system|initial|hidden|original)\s*(prompt|message|instructions)\b",
        r"\b(print|show|reveal|repeat|display|output|tell me)\b.{0,30}\b(your|the)\b.{0,20}\b(prompt|instructions|rules)\b",
        r"\b(prompt système|invite système|systemprompt|system-prompt|prompt del sistema|prompt do sistema)\b",
        r"(システムプロンプト|系统提示|системн\w* (промпт|инструкци))",
    ],
    # Other customers' data, or changes to account data: only a human, after
    # checking identity, may act on these.
    "other_customer": [
        r"\b(another|other|someone else'?s?|different)\b.{0,20}\b(customer|client|user|account)s?'?\b.{0,30}\b(data|details|email|address|info|information|account|invoice|password)",
        r"\b(données|daten|datos|dati|dados)\b.{0,30}\b(d'un autre|eines anderen|de otro|di un altro|de outro)\b",
        r"\b(list|dump|export)\b.{0,20}\b(all )?(customers|clients|users|emails)\b",
    ],
    "credentials": [
        r"\b(give|send|tell|show)\b.{0,20}\b(me )?(the |your |a |an )?(admin )?(password|credentials|api key|secret|token)s?\b",
        r"\b(donne|envoie|dis)\w*\b.{0,25}\b(mot de passe|identifiants|clé api)\b",
        r"\b(gib|schick|nenn)\w*\b.{0,25}\b(passwort|kennwort|zugangsdaten)\b",
        r"\b(dame|dime|envíame|dammi|dimmi|me dê|me passe)\b.{0,25}\b(contraseña|password|credenciales|senha|credenziali)\b",
    ],
    "account_change": [
        r"\b(change|update|modify|replace|reset|set)\b.{0,30}\b(my|the|account'?s?)?\s*(e-?mail|password|personal id|account|phone|subscription)\b",
        r"\b(changer|modifier|mettre à jour)\b.{0,30}\b(e-?mail|adresse|mot de passe|compte)\b",
        r"\b(e-?mail|passwort|kennwort|konto)\w*\b.{0,40}\b(ändern|ändere|wechseln|aktualisieren)\b",
        r"\b(cambiar|modificar|actualizar|cambiare|modificare|alterar|mudar)\b.{0,30}\b(correo|e-?mail|contraseña|password|cuenta|conta|senha|account)\b",
        r"\b(give|grant)\b.{0,20}\b(me )?(admin|dashboard|server|root)\b.{0,20}\b(access|rights|password)\b",
    ],
}

_COMPILED = {category: [re.compile(pattern, re.IGNORECASE | re.DOTALL) for pattern in patterns]
             for category, patterns in _PATTERNS.items()}


def screen(text: str) -> str | None:
    """Return the category of request the model must not handle, or None."""
    normalized = unicodedata.normalize("NFKC", text).casefold()
    for category, patterns in _COMPILED.items():
        if any(pattern.search(normalized) for pattern in patterns):
            return category
    return None
