"""DCC Users known to the DSP: User ID, user roles, XML-signing certificate; and the SMKI trust
anchors (issuing CA certificates) Organisation certificates must chain to."""
from __future__ import annotations

import threading
from dataclasses import dataclass

from cryptography import x509

NETWORK_OPERATOR_ROLES = frozenset({"ED", "GT"})
SUPPLIER_ROLES = frozenset({"IS", "GS"})
ALL_ROLES = frozenset({"IS", "ES", "GS", "ED", "GT", "OU"})


@dataclass(frozen=True)
class User:
    user_id: str
    roles: frozenset[str]
    xml_signing_certificate: x509.Certificate


class UserDirectory:
    def __init__(self) -> None:
        self._users: dict[str, User] = {}
        self._trust: list[x509.Certificate] = []
        self._lock = threading.Lock()

    def add(self, user: User) -> None:
        unknown = set(user.roles) - ALL_ROLES
        if unknown:
            raise ValueError(f"user {user.user_id}: unknown user role(s) {sorted(unknown)}; expected {sorted(ALL_ROLES)}")
        with self._lock:
            self._users[user.user_id] = user

    def get(self, user_id: str) -> User | None:
        with self._lock:
            return self._users.get(user_id)

    def add_trust_anchor(self, certificate: x509.Certificate) -> None:
        with self._lock:
            if certificate not in self._trust:
                self._trust.append(certificate)

    @property
    def trust_anchors(self) -> list[x509.Certificate]:
        with self._lock:
            return list(self._trust)

    def clear(self) -> None:
        with self._lock:
            self._users.clear()
            self._trust.clear()
