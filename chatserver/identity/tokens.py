"""Identity tokens: the host site's (hardened JWT checks) and the widget sessions this server issues."""
from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import jwt

from ..services.errors import ServiceError
from ..state import SharedState
from ..services.validation import storable

SESSION_AUDIENCE = "chatserver:visitor"
ALGORITHM = "HS256"
# Clock skew allowed between the host site and this server.
LEEWAY_SECONDS = 30
LEGACY_KID = "default"
MAX_JTI_LENGTH = 128


@dataclass(frozen=True)
class HostClaims:
    personal_id: str
    email: str
    kid: str


def equal(a: str, b: str) -> bool:
    """Compare two strings in constant time."""
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


class HostTokens:
    """Check the host site's identity JWTs: HS256 only, a known kid, exp required and bounded, jti once."""

    def __init__(self, *, keys: Mapping[str, str], legacy_secret: str | None, max_lifetime: int,
                 state: SharedState, clock: Callable[[], datetime]):
        self._keys = dict(keys)
        if legacy_secret and LEGACY_KID not in self._keys:
            self._keys[LEGACY_KID] = legacy_secret
        self._legacy_secret = legacy_secret
        self._max_lifetime = max_lifetime
        self._state = state
        self._clock = clock

    @property
    def configured(self) -> bool:
        return bool(self._keys)

    def verify(self, token: Any) -> HostClaims:
        """Return the claims of a valid, unused token; refuse anything else with a stable code."""
        if not self._keys:
            raise ServiceError("identity_not_configured", "This server has no IDENTITY_KEYS or IDENTITY_SECRET configured.")
        if not isinstance(token, str) or not token:
            raise ServiceError("missing_identity", "An identity token is required.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise ServiceError("invalid_identity", "The identity token is not a JWT.") from None
        if header.get("alg") != ALGORITHM:
            raise ServiceError("invalid_identity", "The identity token must be signed with HS256.")
        kid = header.get("kid")
        if kid is None and self._legacy_secret:
            kid = LEGACY_KID  # IDENTITY_SECRET alone: tokens may omit kid
        if not isinstance(kid, str) or kid not in self._keys:
            raise ServiceError("unknown_key", "The identity token's kid names no signing key of this server.")
        try:
            claims = jwt.decode(token, self._keys[kid], algorithms=[ALGORITHM], leeway=LEEWAY_SECONDS,
                                options={"require": ["exp", "sub", "email", "jti"]})
        except jwt.ExpiredSignatureError:
            raise ServiceError("identity_expired", "The identity token has expired.") from None
        except jwt.InvalidSignatureError:
            raise ServiceError("invalid_identity", "The identity token's signature is not valid.") from None
        except jwt.InvalidTokenError as error:
            raise ServiceError("invalid_identity", f"The identity token is not valid: {error}.") from None
        now = self._clock().timestamp()
        issued = claims.get("iat")
        start = issued if isinstance(issued, (int, float)) and not isinstance(issued, bool) else now
        if claims["exp"] - start > self._max_lifetime + LEEWAY_SECONDS:
            raise ServiceError("identity_lifetime", f"An identity token may live at most {self._max_lifetime} "
                               "seconds; sign a shorter one.")
        jti = claims["jti"]
        if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
            raise ServiceError("invalid_identity", f"jti must be a string of 1 to {MAX_JTI_LENGTH} characters.")
        try:
            personal_id = storable(str(claims["sub"]), field="sub")
            email = storable(str(claims["email"]), field="email")
            storable(jti, field="jti")
        except ServiceError:
            raise ServiceError("invalid_identity", "The identity token's claims are not valid text.") from None
        # Kept until the token expires, in the shared state: one use, whichever process sees it.
        ttl = max(1.0, claims["exp"] - now + LEEWAY_SECONDS)
        if not self._state.claim_once(name=f"jti:{kid}:{jti}", ttl=ttl):
            raise ServiceError("identity_replayed", "This identity token was used already; the site must sign a "
                               "new one for each page view.")
        return HostClaims(personal_id=personal_id, email=email, kid=kid)

    def mint(self, *, personal_id: str, email: str, jti: str, ttl: timedelta = timedelta(hours=1)) -> str:
        """Return a token as a host site signs one (the development demo)."""
        kid = LEGACY_KID if LEGACY_KID in self._keys else next(iter(self._keys))
        now = self._clock()
        return jwt.encode({"sub": personal_id, "email": email, "iat": now, "exp": now + ttl, "jti": jti},
                          self._keys[kid], algorithm=ALGORITHM, headers={"kid": kid})


class SessionTokens:
    """Widget sessions: signed by this server, expiring, void once the account's email changes."""

    def __init__(self, *, secret_key: str, ttl: int, clock: Callable[[], datetime]):
        self._secret_key = secret_key
        self._ttl = ttl
        self._clock = clock

    def issue(self, *, personal_id: str, email: str) -> tuple[str, datetime]:
        now = self._clock()
        expires = now + timedelta(seconds=self._ttl)
        token = jwt.encode({"sub": personal_id, "email": email, "aud": SESSION_AUDIENCE, "iat": now, "exp": expires},
                           self._secret_key, algorithm=ALGORITHM)
        return token, expires

    def verify(self, token: str) -> tuple[str, str, datetime]:
        """Return (personal_id, email, expiry) of a valid session token."""
        try:
            claims = jwt.decode(token, self._secret_key, algorithms=[ALGORITHM], audience=SESSION_AUDIENCE,
                                options={"require": ["exp", "sub", "email", "aud"]})
        except jwt.ExpiredSignatureError:
            raise ServiceError("session_expired", "The chat session has expired; verify your email again.") from None
        except jwt.InvalidTokenError:
            raise ServiceError("invalid_session", "The chat session is not valid; verify your email again.") from None
        return str(claims["sub"]), str(claims["email"]), datetime.fromtimestamp(claims["exp"], timezone.utc)
