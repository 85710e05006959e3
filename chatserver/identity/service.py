"""Verified identity: who a visitor is, codes by email, duplicate accounts, suspension and email change.

Every decision is written to the audit log in the same transaction as the change it describes.
Answers to strangers never tell whether an email or a personal ID exists (docs/security.md).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ..events import ClientRevoked, EventBus
from ..mail import MailService
from ..models import Agent, Client, ClientDevice, EmailChange, IdentityChallenge, IdentityFlag, OutboxMail
from ..services.audit import SYSTEM, AuditLog, actor_of
from ..services.errors import ServiceError
from ..services.validation import positive_id, storable
from ..services.views import iso
from ..state import SharedState
from .normalize import emails_in, normalize_company, normalize_email, normalize_name, normalize_phone
from .tokens import HostTokens, SessionTokens, equal

DUPLICATE = "duplicate_identity"
RATE_WINDOW = 3600.0
MIN_DEVICE_ID, MAX_DEVICE_ID = 16, 128
SENT_MESSAGE = ("If the details match an account, we have sent a 6-digit code to its email. "
                "It is valid for {minutes} minutes.")
VERIFY_HINT = ("Support is given only to verified accounts. Open Verify in the chat and enter your personal ID and "
               "email to get a code, or register with your email; signed-in visitors of our website are verified "
               "automatically.")
DUPLICATE_MESSAGE = ("This account is suspended: it looks like a second account of an existing client. To use a new "
                     "email, ask for an email change from your existing account. An admin will review this account.")


@dataclass(frozen=True)
class Rates:
    email: int
    ip: int
    device: int


@dataclass
class Visitor:
    """Who a /visitor socket is: a verified client with a widget session, or an unverified visitor."""

    client_id: int | None = None
    personal_id: str | None = None
    name: str | None = None
    session: str | None = None
    session_expires_at: datetime | None = None
    device_hash: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        return self.client_id is not None

    def public(self) -> dict[str, Any]:
        """Return what the widget hears about itself (the `identity` event)."""
        if not self.verified:
            return {"verified": False, "message": VERIFY_HINT}
        return {"verified": True, "personal_id": self.personal_id, "name": self.name, "session": self.session,
                "expires_at": iso(self.session_expires_at)}


def device_hash(value: Any) -> str | None:
    """Return the stored form of a widget's device ID (a hash: the raw ID acts as a secret), or None."""
    if not isinstance(value, str) or not MIN_DEVICE_ID <= len(value) <= MAX_DEVICE_ID or not value.isprintable():
        return None
    return hashlib.sha256(value.encode()).hexdigest()


def _email(value: Any, *, field: str = "email") -> str:
    if not isinstance(value, str) or len(value) > 320:
        raise ServiceError("invalid", f"{field} must be an email address.")
    email = normalize_email(storable(value, field=field))
    local, _, domain = email.partition("@")
    if not local or "." not in domain or " " in email or email.count("@") != 1:
        raise ServiceError("invalid", f"{field} must be an email address.")
    return email


def _text(value: Any, *, field: str, required: bool, limit: int = 200) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            raise ServiceError("invalid", f"{field} is required.")
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ServiceError("invalid", f"{field} must be a non-empty string of at most {limit} characters.")
    return storable(value.strip(), field=field)


def _code(value: Any) -> str:
    if not isinstance(value, str) or not (len(value.strip()) == 6 and value.strip().isdigit()):
        raise ServiceError("invalid", "code must be the 6 digits from the email.")
    return value.strip()


class IdentityService:
    """Decide who visitors are, and change who they are only on proof."""

    def __init__(self, *, db: sessionmaker[Session], state: SharedState, events: EventBus, audit: AuditLog,
                 mail: MailService, clock: Callable[[], datetime], secret_key: str, host_tokens: HostTokens,
                 sessions: SessionTokens, code_ttl: int, code_attempts: int, rates: Rates,
                 email_change_ttl: int, public_url: str | None):
        self._db = db
        self._state = state
        self._events = events
        self._audit = audit
        self._mail = mail
        self._clock = clock
        self._secret = secret_key.encode()
        self.host_tokens = host_tokens
        self._sessions = sessions
        self._code_ttl = code_ttl
        self._code_attempts = code_attempts
        self._rates = rates
        self._email_change_ttl = email_change_ttl
        self._public_url = public_url

    # --- helpers ------------------------------------------------------------------------------------------
    def _hash(self, *parts: str) -> str:
        return hmac.new(self._secret, "\x1f".join(parts).encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()

    def _new_code(self, *parts: str) -> tuple[str, str]:
        code = f"{secrets.randbelow(10 ** 6):06d}"
        return code, self._hash(*parts, code)

    def _limit(self, kind: str, key: str | None, limit: int) -> None:
        """Count one use of key against limit per hour; refuse beyond it."""
        if key is None:
            return
        name = f"identity:{kind}:{hashlib.sha256(key.encode('utf-8', 'surrogatepass')).hexdigest()[:32]}"
        if self._state.counter_add(name=name, amount=1, ttl=RATE_WINDOW) > limit:
            raise ServiceError("rate_limited", "Too many attempts; please wait a while and try again.", status=429)

    def _limit_requests(self, *, email: str, ip: str | None, device: str | None) -> None:
        # Applied before any lookup, the same for every email, so a refusal says nothing about an account.
        self._limit("ip", ip, self._rates.ip)
        self._limit("device", device, self._rates.device)
        self._limit("email", email, self._rates.email)

    def _limit_attempts(self, *, ip: str | None, device: str | None) -> None:
        self._limit("try-ip", ip, self._rates.ip * self._code_attempts)
        self._limit("try-device", device, self._rates.device * self._code_attempts)

    @property
    def code_minutes(self) -> int:
        return max(1, self._code_ttl // 60)

    def _sent(self) -> dict[str, Any]:
        return {"sent": True, "message": SENT_MESSAGE.format(minutes=self.code_minutes)}

    def _visitor(self, client: Client, *, device: str | None) -> Visitor:
        token, expires = self._sessions.issue(personal_id=client.personal_id, email=client.email)
        return Visitor(client_id=client.id, personal_id=client.personal_id, name=client.name, session=token,
                       session_expires_at=expires, device_hash=device)

    @staticmethod
    def _refuse_inactive(client: Client) -> None:
        if client.status == "active":
            return
        if client.suspension_reason == DUPLICATE or client.status == "merged":
            raise ServiceError("suspended", DUPLICATE_MESSAGE, status=403)
        raise ServiceError("suspended", "This account is suspended; contact support by email.", status=403)

    # --- connecting -----------------------------------------------------------------------------------------
    def connect(self, *, auth: Mapping[str, Any], ip: str | None) -> Visitor:
        """Return who a /visitor connection is: host token, widget session, or an unverified device."""
        device = device_hash(auth.get("device_id"))
        session_token = auth.get("session")
        if isinstance(session_token, str) and session_token:
            return self._from_session(session_token, device=device)
        if "identity" in auth or device is None:
            return self._from_host_token(auth.get("identity"), device=device)
        return Visitor(device_hash=device)

    def _from_session(self, token: str, *, device: str | None) -> Visitor:
        personal_id, email, expires = self._sessions.verify(token)
        with self._db() as session:
            client = session.scalar(select(Client).where(Client.personal_id == personal_id))
        if client is None or not equal(email, client.email):
            # The email changed (or the account went): every session for the old email ends.
            raise ServiceError("session_revoked", "This chat session is no longer valid; verify your email again.")
        self._refuse_inactive(client)
        # The same session, not a fresh one: reconnecting must not extend a session for ever.
        return Visitor(client_id=client.id, personal_id=client.personal_id, name=client.name, session=token,
                       session_expires_at=expires, device_hash=device)

    def _from_host_token(self, token: Any, *, device: str | None) -> Visitor:
        claims = self.host_tokens.verify(token)
        with self._db.begin() as session:
            client = session.scalar(select(Client).where(Client.personal_id == claims.personal_id))
            if client is None:
                raise ServiceError("unknown_client", "No client has this personal ID.")
            if not equal(normalize_email(claims.email), client.email):
                raise ServiceError("email_mismatch", "The identity's email is not the client's email.")
            self._refuse_inactive(client)
            if not client.email_verified:
                raise ServiceError("unverified", "Support is given only to accounts with a verified email.")
            duplicate = self._see_device(session, client, device=device)
            if duplicate is not None:
                self._suspend_duplicate(session, client, duplicate, via="host_token")
        if duplicate is not None:
            raise ServiceError("suspended", DUPLICATE_MESSAGE, status=403)
        return self._visitor(client, device=device)

    # --- devices and duplicates -------------------------------------------------------------------------------
    def _see_device(self, session: Session, client: Client, *, device: str | None) -> tuple[Client, dict] | None:
        """Record the device for client; return (existing client, evidence) when client is a newer account on it."""
        if device is None:
            return None
        now = self._clock()
        known = session.scalar(select(ClientDevice).where(ClientDevice.client_id == client.id,
                                                          ClientDevice.device_hash == device))
        if known is not None:
            known.last_seen_at = now
            return None
        first_device = session.scalar(select(func.count()).select_from(ClientDevice)
                                      .where(ClientDevice.client_id == client.id)) == 0
        session.add(ClientDevice(client_id=client.id, device_hash=device, first_seen_at=now, last_seen_at=now))
        if not first_device:
            return None
        # A first sighting of an account on a device another, older account already uses.
        other = session.scalar(select(Client).join(ClientDevice, ClientDevice.client_id == Client.id)
                               .where(ClientDevice.device_hash == device, Client.id != client.id,
                                      Client.created_at <= client.created_at, Client.status != "merged")
                               .order_by(Client.id).limit(1))
        return (other, {"device": True}) if other is not None else None

    def _name_company_match(self, session: Session, *, name: str | None, company: str | None,
                            exclude: int | None) -> Client | None:
        if not name or not company:
            return None
        query = select(Client).where(Client.normalized_name == name, Client.normalized_company == company,
                                     Client.status != "merged")
        if exclude is not None:
            query = query.where(Client.id != exclude)
        return session.scalar(query.order_by(Client.id).limit(1))

    def _suspend_duplicate(self, session: Session, client: Client, duplicate: tuple[Client, dict], *,
                           via: str) -> IdentityFlag:
        existing, evidence = duplicate
        client.status = "suspended"
        client.suspension_reason = DUPLICATE
        flag = IdentityFlag(client_id=client.id, existing_client_id=existing.id, reason=DUPLICATE,
                            evidence={**evidence, "via": via}, status="open", created_at=self._clock())
        session.add(flag)
        session.flush()
        details = {"flag_id": flag.id, "existing": existing.personal_id, "evidence": flag.evidence}
        self._audit.record(session, actor=SYSTEM, action="identity.duplicate_suspended",
                           target=("client", client.personal_id), details=details)
        self._audit.record(session, actor=SYSTEM, action="identity.flagged",
                           target=("client", existing.personal_id),
                           details={"flag_id": flag.id, "duplicate": client.personal_id})
        return flag

    # --- codes by email -------------------------------------------------------------------------------------------
    def start_sign_in(self, *, personal_id: Any, email: Any, device: str | None, ip: str | None,
                      language: str | None) -> dict[str, Any]:
        """Email a sign-in code when personal ID and email match; answer the same either way."""
        email = _email(email)
        personal_id = _text(personal_id, field="personal_id", required=True, limit=32).upper()
        self._limit_requests(email=email, ip=ip, device=device)
        now = self._clock()
        with self._db.begin() as session:
            client = session.scalar(select(Client).where(Client.personal_id == personal_id))
            matched = client is not None and equal(client.email, email)
            code, code_hash = self._new_code("sign_in", email)
            # A challenge is stored even for no match, so a later wrong code, expiry and the attempt limit
            # behave identically for accounts that exist and ones that do not.
            session.add(IdentityChallenge(purpose="sign_in", email=email, client_id=client.id if matched else None,
                                          code_hash=code_hash, attempts=0, device_hash=device, data={},
                                          expires_at=now + timedelta(seconds=self._code_ttl), created_at=now))
            mail = self._mail.add(session, template="sign_in_code", to_address=email, language=language,
                                  values={"code": code, "minutes": self.code_minutes}) if matched else None
            self._audit.record(session, actor=("visitor", None), action="identity.code_requested",
                               target=("client", client.personal_id) if matched else None,
                               details={"matched": matched, "purpose": "sign_in"})
        if mail is not None:
            self._mail.send(mail)
        return self._sent()

    def register(self, *, email: Any, name: Any, company: Any = None, phone: Any = None, device: str | None,
                 ip: str | None, language: str | None) -> dict[str, Any]:
        """Email a code to confirm a new account (or a sign-in code when the email has one); answer the same."""
        email = _email(email)
        name = _text(name, field="name", required=True)
        company = _text(company, field="company", required=False)
        phone = _text(phone, field="phone", required=False, limit=64)
        self._limit_requests(email=email, ip=ip, device=device)
        now = self._clock()
        with self._db.begin() as session:
            existing = session.scalar(select(Client).where(Client.email == email))
            purpose = "sign_in" if existing is not None else "register"
            code, code_hash = self._new_code(purpose, email)
            session.add(IdentityChallenge(
                purpose=purpose, email=email, client_id=existing.id if existing else None, code_hash=code_hash,
                attempts=0, device_hash=device, expires_at=now + timedelta(seconds=self._code_ttl), created_at=now,
                data={} if existing else {"name": name, "company": company, "phone": phone}))
            if existing is not None:
                mail = self._mail.add(session, template="account_exists", to_address=email, language=language,
                                      values={"code": code, "minutes": self.code_minutes,
                                              "personal_id": existing.personal_id})
            else:
                mail = self._mail.add(session, template="register_code", to_address=email, language=language,
                                      values={"code": code, "minutes": self.code_minutes, "name": name})
            self._audit.record(session, actor=("visitor", None), action="identity.code_requested",
                               target=("client", existing.personal_id) if existing else None,
                               details={"purpose": "register", "existing": existing is not None})
        self._mail.send(mail)
        return self._sent()

    def verify_code(self, *, email: Any, code: Any, device: str | None, ip: str | None,
                    language: str | None) -> Visitor:
        """Check a code; open a verified session (registering the account first when it is new)."""
        email = _email(email)
        code = _code(code)
        self._limit_attempts(ip=ip, device=device)
        now = self._clock()
        outcome: ServiceError | None = None
        mails: list[OutboxMail] = []
        with self._db.begin() as session:
            challenge = session.scalar(
                select(IdentityChallenge).where(IdentityChallenge.email == email, IdentityChallenge.consumed_at.is_(None),
                                                IdentityChallenge.purpose.in_(("sign_in", "register")))
                .order_by(IdentityChallenge.id.desc()).limit(1).with_for_update())
            if challenge is None:
                raise ServiceError("invalid_code", "This code is not right. Ask for a new one if needed.")
            if challenge.expires_at <= now:
                raise ServiceError("code_expired", "This code has expired; ask for a new one.")
            # The shared counter is atomic where the row lock is not (SQLite): never more tries than allowed.
            tries = self._state.counter_add(name=f"identity:tries:{challenge.id}", amount=1,
                                            ttl=self._code_ttl + RATE_WINDOW)
            if challenge.attempts >= self._code_attempts or tries > self._code_attempts:
                raise ServiceError("too_many_attempts", "Too many wrong codes; ask for a new one.")
            challenge.attempts += 1
            if not hmac.compare_digest(challenge.code_hash, self._hash(challenge.purpose, email, code)):
                left = self._code_attempts - challenge.attempts
                outcome = ServiceError("invalid_code", f"This code is not right; {left} attempts left.")
            else:
                challenge.consumed_at = now
                if challenge.purpose == "register":
                    client, duplicate = self._create_registered(session, challenge, device=device or challenge.device_hash)
                    if duplicate is None:
                        mails.append(self._mail.add(session, template="registered", to_address=email,
                                                    language=language,
                                                    values={"personal_id": client.personal_id, "name": client.name}))
                else:
                    client = session.get(Client, challenge.client_id) if challenge.client_id else None
                    if client is None or not equal(client.email, email):
                        # A challenge for no account: its code was never sent, so this cannot be reached by
                        # guessing more than 1 in a million; answer as a wrong code all the same.
                        raise ServiceError("invalid_code", "This code is not right. Ask for a new one if needed.")
                    duplicate = None
                    if client.status == "active":
                        if not client.email_verified:
                            client.email_verified = True
                        client.verified_at = now
                        duplicate = self._see_device(session, client, device=device or challenge.device_hash)
                if duplicate is not None:
                    self._suspend_duplicate(session, client, duplicate, via=challenge.purpose)
                self._audit.record(session, actor=("client", client.personal_id), action="identity.verified",
                                   target=("client", client.personal_id),
                                   details={"purpose": challenge.purpose, "status": client.status})
        if outcome is not None:
            raise outcome
        self._mail.send(*mails)
        self._refuse_inactive(client)
        return self._visitor(client, device=device)

    def _create_registered(self, session: Session, challenge: IdentityChallenge, *,
                           device: str | None) -> tuple[Client, tuple[Client, dict] | None]:
        data = challenge.data or {}
        now = self._clock()
        name, company, phone = data.get("name") or challenge.email, data.get("company"), data.get("phone")
        client = Client(email=challenge.email, name=name, company=company, phone=phone, email_verified=True,
                        verified_at=now, created_at=now, status="active",
                        normalized_name=normalize_name(name), normalized_company=normalize_company(company),
                        normalized_phone=normalize_phone(phone))
        session.add(client)
        session.flush()  # the personal ID is issued here, after the email was proven
        evidence: dict[str, Any] = {}
        existing = None
        if device is not None:
            existing = session.scalar(select(Client).join(ClientDevice, ClientDevice.client_id == Client.id)
                                      .where(ClientDevice.device_hash == device, Client.status != "merged")
                                      .order_by(Client.id).limit(1))
            if existing is not None:
                evidence["device"] = True
            session.add(ClientDevice(client_id=client.id, device_hash=device, first_seen_at=now, last_seen_at=now))
        match = self._name_company_match(session, name=client.normalized_name, company=client.normalized_company,
                                         exclude=client.id)
        if match is not None:
            evidence["name_company"] = True
            existing = existing or match
        if existing is not None and client.normalized_phone and client.normalized_phone == existing.normalized_phone:
            evidence["phone"] = True
        self._audit.record(session, actor=("client", client.personal_id), action="identity.registered",
                           target=("client", client.personal_id), details={"company": company})
        return client, ((existing, evidence) if existing is not None else None)

    # --- admin: status and duplicate review ------------------------------------------------------------------------
    def set_status(self, *, personal_id: Any, status: Any, reason: Any, agent: Agent) -> Client:
        """Suspend or reactivate a client; a suspension ends their open sockets at once."""
        if status not in ("active", "suspended"):
            raise ServiceError("invalid", "status must be active or suspended.")
        reason = _text(reason, field="reason", required=status == "suspended", limit=32) if status == "suspended" else None
        with self._db.begin() as session:
            client = self._client(session, personal_id)
            before = (client.status, client.suspension_reason)
            client.status, client.suspension_reason = status, reason
            self._audit.record(session, actor=actor_of(agent), action=f"client.{'suspend' if reason else 'reactivate'}",
                               target=("client", client.personal_id),
                               details={"before": list(before), "reason": reason})
        if status == "suspended":
            self._events.publish(ClientRevoked(client_id=client.id, code="suspended",
                                               message="This account is suspended; contact support by email."))
        return client

    @staticmethod
    def _client(session: Session, personal_id: Any) -> Client:
        client = session.scalar(select(Client).where(Client.personal_id == personal_id)) \
            if isinstance(personal_id, str) and "\x00" not in personal_id else None
        if client is None:
            raise ServiceError("not_found", "No client has this personal ID.", status=404)
        return client

    def flags(self, *, status: str | None = "open") -> list[dict[str, Any]]:
        """Return duplicate-account flags, newest first."""
        query = select(IdentityFlag).order_by(IdentityFlag.id.desc()).limit(500)
        if status is not None:
            query = query.where(IdentityFlag.status == status)
        with self._db() as session:
            return [flag_view(flag) for flag in session.scalars(query)]

    def decide_flag(self, *, flag_id: Any, decision: Any, agent: Agent) -> dict[str, Any]:
        """Merge the new account into the existing one, lift its suspension, or keep it."""
        flag_id = positive_id(flag_id, field="flag_id")
        if decision not in ("merge", "lift", "keep"):
            raise ServiceError("invalid", "decision must be merge, lift or keep.")
        now = self._clock()
        with self._db.begin() as session:
            flag = session.get(IdentityFlag, flag_id, with_for_update={"of": IdentityFlag})
            if flag is None:
                raise ServiceError("not_found", "No such flag.", status=404)
            if flag.status != "open":
                raise ServiceError("conflict", f"This flag was already decided ({flag.status}).", status=409)
            client, existing = flag.client, flag.existing_client
            if decision == "merge":
                # The new account's devices now count for the existing one; the new account is closed for good.
                known = set(session.scalars(select(ClientDevice.device_hash)
                                            .where(ClientDevice.client_id == existing.id)))
                for device in session.scalars(select(ClientDevice).where(ClientDevice.client_id == client.id)):
                    if device.device_hash in known:
                        session.delete(device)
                    else:
                        device.client_id = existing.id
                client.status, client.merged_into_id = "merged", existing.id
                flag.status = "merged"
            elif decision == "lift":
                client.status, client.suspension_reason = "active", None
                flag.status = "lifted"
            else:
                flag.status = "kept"
            flag.decided_by, flag.decided_at = agent.id, now
            self._audit.record(session, actor=actor_of(agent), action=f"identity.flag_{decision}",
                               target=("client", client.personal_id),
                               details={"flag_id": flag.id, "existing": existing.personal_id})
            view = flag_view(flag)
        return view

    # --- email change: from the account ---------------------------------------------------------------------------------
    def request_email_change(self, *, client_id: int, new_email: Any, language: str | None) -> dict[str, Any]:
        """Open a change request (a ticket for agents) and email a code to the new address."""
        new_email = _email(new_email, field="new_email")
        self._limit("change", str(client_id), self._rates.email)
        now = self._clock()
        with self._db.begin() as session:
            client = session.get(Client, client_id)
            if client is None or client.status != "active":
                raise ServiceError("suspended", "This account cannot change its email now.", status=403)
            if new_email == client.email:
                raise ServiceError("invalid", "new_email is already this account's email.")
            self._cancel_pending(session, client.id)
            code, code_hash = self._new_code("change", new_email)
            change = EmailChange(client_id=client.id, via="account", old_email=client.email, new_email=new_email,
                                 status="pending", new_code_hash=code_hash, new_code_attempts=0,
                                 expires_at=now + timedelta(seconds=self._email_change_ttl), created_at=now)
            session.add(change)
            session.flush()
            mail = self._mail.add(session, template="email_change_code", to_address=new_email, language=language,
                                  values={"code": code, "minutes": self.code_minutes})
            self._audit.record(session, actor=("client", client.personal_id), action="email_change.requested",
                               target=("client", client.personal_id),
                               details={"change_id": change.id, "via": "account", "new_email": new_email})
            view = change_view(change)
        self._mail.send(mail)
        return view

    def confirm_email_change_code(self, *, client_id: int, code: Any) -> dict[str, Any]:
        """Prove the new address with its code; the request then waits for an agent's approval."""
        code = _code(code)
        with self._db.begin() as session:
            change = session.scalar(select(EmailChange).where(EmailChange.client_id == client_id,
                                                              EmailChange.via == "account",
                                                              EmailChange.status == "pending")
                                    .order_by(EmailChange.id.desc()).limit(1).with_for_update(of=EmailChange))
            if change is None:
                raise ServiceError("not_found", "There is no pending email change; ask for one first.", status=404)
            error = self._check_change_code(session, change, code)
            if error is None:
                change.status = "awaiting_approval"
                self._audit.record(session, actor=("client", change.client.personal_id),
                                   action="email_change.new_confirmed", target=("client", change.client.personal_id),
                                   details={"change_id": change.id})
            view = change_view(change)
        if error is not None:
            raise error
        return view

    def _check_change_code(self, session: Session, change: EmailChange, code: str) -> ServiceError | None:
        now = self._clock()
        # From the account the code lives as long as any code; by email, as long as the request.
        code_deadline = change.created_at + timedelta(seconds=self._code_ttl) if change.via == "account" \
            else change.expires_at
        if min(change.expires_at, code_deadline) <= now:
            change.status = "expired"
            self._audit.record(session, actor=SYSTEM, action="email_change.expired",
                               target=("client", change.client.personal_id), details={"change_id": change.id})
            return ServiceError("code_expired", "This code has expired; ask for a new email change.")
        tries = self._state.counter_add(name=f"identity:change-tries:{change.id}", amount=1,
                                        ttl=self._email_change_ttl + RATE_WINDOW)
        if change.new_code_attempts >= self._code_attempts or tries > self._code_attempts:
            return ServiceError("too_many_attempts", "Too many wrong codes; ask for a new change.")
        change.new_code_attempts += 1
        if not hmac.compare_digest(change.new_code_hash, self._hash("change", change.new_email, code)):
            return ServiceError("invalid_code", "This code is not right.")
        change.new_confirmed_at = now
        return None

    def email_changes(self, *, status: str | None = "awaiting_approval") -> list[dict[str, Any]]:
        """Return change requests for agents, newest first (expired ones marked as such)."""
        self._expire_changes()
        query = select(EmailChange).order_by(EmailChange.id.desc()).limit(500)
        if status is not None:
            query = query.where(EmailChange.status == status)
        with self._db() as session:
            return [change_view(change) for change in session.scalars(query)]

    def approve_email_change(self, *, change_id: Any, agent: Agent) -> dict[str, Any]:
        """Apply a change whose new address is proven: the agent's approval is the last step."""
        change_id = positive_id(change_id, field="change_id")
        self._expire_changes()
        with self._db.begin() as session:
            change = session.get(EmailChange, change_id, with_for_update={"of": EmailChange})
            if change is None:
                raise ServiceError("not_found", "No such email change.", status=404)
            if change.status != "awaiting_approval":
                raise ServiceError("conflict", f"This request is {change.status}, not awaiting approval.", status=409)
            change.approved_by = agent.id
            mail = self._apply_change(session, change, actor=actor_of(agent))
            view = change_view(change)
        self._after_change(change, mail)
        return view

    def reject_email_change(self, *, change_id: Any, agent: Agent) -> dict[str, Any]:
        change_id = positive_id(change_id, field="change_id")
        with self._db.begin() as session:
            change = session.get(EmailChange, change_id, with_for_update={"of": EmailChange})
            if change is None:
                raise ServiceError("not_found", "No such email change.", status=404)
            if change.status not in ("pending", "awaiting_approval"):
                raise ServiceError("conflict", f"This request is {change.status}.", status=409)
            change.status = "rejected"
            self._audit.record(session, actor=actor_of(agent), action="email_change.rejected",
                               target=("client", change.client.personal_id), details={"change_id": change.id})
            return change_view(change)

    # Locks name their table: PostgreSQL refuses FOR UPDATE on the outer side of the eager client join.
    def _apply_change(self, session: Session, change: EmailChange, *, actor: tuple[str, str | None]) -> OutboxMail:
        client = session.get(Client, change.client_id, with_for_update=True)
        if client.email != change.old_email:
            change.status = "cancelled"
            raise ServiceError("conflict", "The account's email changed meanwhile; this request is void.", status=409)
        taken = session.scalar(select(Client.id).where(Client.email == change.new_email))
        if taken is not None:
            raise ServiceError("conflict", "Another account uses the new email; review it before changing.",
                               status=409)
        now = self._clock()
        client.email, client.email_verified, client.email_changed_at = change.new_email, True, now
        change.status, change.completed_at = "completed", now
        self._audit.record(session, actor=actor, action="email_change.completed", target=("client", client.personal_id),
                           details={"change_id": change.id, "via": change.via, "old_email": change.old_email,
                                    "new_email": change.new_email})
        return self._mail.add(session, template="email_change_notice", to_address=change.old_email,
                              values={"new_email": change.new_email})

    def _after_change(self, change: EmailChange, mail: OutboxMail) -> None:
        self._mail.send(mail)
        # Sessions and host tokens name the old email: they stop working; open sockets go now.
        self._events.publish(ClientRevoked(client_id=change.client_id, code="email_changed",
                                           message="This account's email changed; verify again to continue."))

    def _cancel_pending(self, session: Session, client_id: int) -> None:
        for change in session.scalars(select(EmailChange).where(
                EmailChange.client_id == client_id, EmailChange.status.in_(("pending", "awaiting_approval")))):
            change.status = "cancelled"
            self._audit.record(session, actor=SYSTEM, action="email_change.cancelled",
                               target=("client", change.client.personal_id),
                               details={"change_id": change.id, "why": "superseded"})

    def _expire_changes(self) -> None:
        now = self._clock()
        with self._db.begin() as session:
            for change in session.scalars(select(EmailChange).where(
                    EmailChange.status.in_(("pending", "awaiting_approval")), EmailChange.expires_at <= now)):
                change.status = "expired"
                self._audit.record(session, actor=SYSTEM, action="email_change.expired",
                                   target=("client", change.client.personal_id), details={"change_id": change.id})

    # --- email change: from the old address -------------------------------------------------------------------------------
    def inbound_email(self, *, sender: Any, subject: Any, text: Any, base_url: str) -> dict[str, Any]:
        """Start a change asked for by email; the From header is not trusted, so both addresses must answer."""
        if not isinstance(sender, str) or not isinstance(text, str) or not isinstance(subject, (str, type(None))):
            raise ServiceError("invalid", "from and text are required strings; subject a string.")
        from_address = normalize_email(parseaddr(storable(sender, field="from"))[1])
        candidates = [email for email in emails_in(f"{subject or ''}\n{storable(text, field='text')}")
                      if email != from_address]
        now = self._clock()
        mails: list[OutboxMail] = []
        with self._db.begin() as session:
            client = session.scalar(select(Client).where(Client.email == from_address)) if from_address else None
            if client is None or client.status != "active" or not candidates:
                self._audit.record(session, actor=SYSTEM, action="email_change.inbound_ignored",
                                   details={"client_found": client is not None, "new_email_found": bool(candidates)})
                return {"status": "accepted"}
            new_email = candidates[0]
            self._cancel_pending(session, client.id)
            code, code_hash = self._new_code("change", new_email)
            token = secrets.token_urlsafe(32)
            change = EmailChange(client_id=client.id, via="email", old_email=client.email, new_email=new_email,
                                 status="pending", new_code_hash=code_hash, new_code_attempts=0,
                                 old_token_hash=self._hash("old", token),
                                 expires_at=now + timedelta(seconds=self._email_change_ttl), created_at=now)
            session.add(change)
            session.flush()
            link = f"{(self._public_url or base_url).rstrip('/')}/email-change/confirm?token={token}"
            # The link goes to the address on file, whoever wrote the From header.
            mails.append(self._mail.add(session, template="email_change_confirm", to_address=client.email,
                                        values={"link": link, "new_email": new_email,
                                                "hours": max(1, self._email_change_ttl // 3600)}))
            verify_link = f"{(self._public_url or base_url).rstrip('/')}/email-change/verify?{urlencode({'email': new_email})}"
            mails.append(self._mail.add(session, template="email_change_verify", to_address=new_email,
                                        values={"code": code, "link": verify_link,
                                                "minutes": max(1, self._email_change_ttl // 60)}))
            self._audit.record(session, actor=("email", None), action="email_change.requested",
                               target=("client", client.personal_id),
                               details={"change_id": change.id, "via": "email", "new_email": new_email})
        self._mail.send(*mails)
        return {"status": "accepted"}

    def confirm_old_address(self, *, token: Any) -> dict[str, Any]:
        """Record the old address's confirmation (the link); apply the change once the new one's code is in too."""
        if not isinstance(token, str) or not 20 <= len(token) <= 100:
            raise ServiceError("invalid_link", "This link is not valid or has expired.", status=404)
        self._expire_changes()
        mail = None
        with self._db.begin() as session:
            change = session.scalar(select(EmailChange).where(EmailChange.old_token_hash == self._hash("old", token),
                                                              EmailChange.status == "pending").with_for_update(of=EmailChange))
            if change is None:
                raise ServiceError("invalid_link", "This link is not valid or has expired.", status=404)
            if change.old_confirmed_at is None:
                change.old_confirmed_at = self._clock()
                self._audit.record(session, actor=("email", None), action="email_change.old_confirmed",
                                   target=("client", change.client.personal_id), details={"change_id": change.id})
            if change.new_confirmed_at is not None:
                mail = self._apply_change(session, change, actor=SYSTEM)
            view = change_view(change)
        if mail is not None:
            self._after_change(change, mail)
        return view

    def confirm_new_address(self, *, email: Any, code: Any, ip: str | None) -> dict[str, Any]:
        """Record the new address's code for a change asked for by email; apply it once the old one confirmed."""
        email = _email(email)
        code = _code(code)
        self._limit_attempts(ip=ip, device=None)
        self._expire_changes()
        mail = None
        with self._db.begin() as session:
            change = session.scalar(select(EmailChange).where(EmailChange.new_email == email,
                                                              EmailChange.via == "email",
                                                              EmailChange.status == "pending")
                                    .order_by(EmailChange.id.desc()).limit(1).with_for_update(of=EmailChange))
            if change is None:
                raise ServiceError("invalid_code", "This code is not right.")
            error = None if change.new_confirmed_at is not None else self._check_change_code(session, change, code)
            if error is None:
                self._audit.record(session, actor=("email", None), action="email_change.new_confirmed",
                                   target=("client", change.client.personal_id), details={"change_id": change.id})
                if change.old_confirmed_at is not None:
                    mail = self._apply_change(session, change, actor=SYSTEM)
            view = change_view(change)
        if error is not None:
            raise error
        if mail is not None:
            self._after_change(change, mail)
        return {"status": view["status"]}


def flag_view(flag: IdentityFlag) -> dict[str, Any]:
    def side(client: Client) -> dict[str, Any]:
        return {"personal_id": client.personal_id, "email": client.email, "name": client.name,
                "company": client.company, "status": client.status, "created_at": iso(client.created_at)}

    return {"id": flag.id, "reason": flag.reason, "evidence": flag.evidence, "status": flag.status,
            "client": side(flag.client), "existing_client": side(flag.existing_client),
            "decided_by": flag.decided_by, "decided_at": iso(flag.decided_at), "created_at": iso(flag.created_at)}


def change_view(change: EmailChange) -> dict[str, Any]:
    return {"id": change.id, "personal_id": change.client.personal_id, "via": change.via,
            "old_email": change.old_email, "new_email": change.new_email, "status": change.status,
            "new_confirmed": change.new_confirmed_at is not None, "old_confirmed": change.old_confirmed_at is not None,
            "approved_by": change.approved_by, "expires_at": iso(change.expires_at),
            "created_at": iso(change.created_at), "completed_at": iso(change.completed_at)}
