"""DUIS messages as plain, frozen data (no XML here: that is ``duis.codec``'s job).

Requests: :class:`ServiceRequest` with one of the bodies :class:`UpdateSecurityCredentialsKRP`
(SRV 6.15.1), :class:`RequestHandoverOfDCCControlledDevice` (6.21),
:class:`RetrieveDeviceSecurityCredentialsKRP` (6.24.1), or :class:`SignedPreCommand` (Command
Variant 5 on the DCC's own interface: the user's signed GBCS command for a Critical request).

The DCC's own interface (SPEC §5, "The DCC interface dialect"): the synchronous answer to a
Command Variant 4 request sent to the Transform Service carries a :class:`PreCommand`
(``ServiceResponse.pre_command``).

Responses: :class:`ServiceResponse`, and the SMETS1 response payloads
:class:`UpdateSecurityCredentialsKRPRsp`, :class:`RequestHandoverOfDCCControlledDeviceRsp`,
:class:`RetrieveDeviceSecurityCredentialsKRPRsp` (listing :class:`RemotePartyDetail`), and the
S1SP rejection :class:`S1SPAlert`.

Certificates are DER bytes; EUI-64s are :class:`~duis.types.EUI64`; times are tz-aware datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Union

from .errors import DuisValueError
from .types import EUI64, RequestID

__all__ = [
    "SRV_UPDATE_SECURITY_CREDENTIALS_KRP",
    "SRV_REQUEST_HANDOVER",
    "SRV_RETRIEVE_DEVICE_SECURITY_CREDENTIALS_KRP",
    "RESPONSE_KINDS",
    "service_reference_of",
    "CertificatePair",
    "UpdateSecurityCredentialsKRP",
    "RequestHandoverOfDCCControlledDevice",
    "RetrieveDeviceSecurityCredentialsKRP",
    "SignedPreCommand",
    "PreCommand",
    "RequestBody",
    "ServiceRequest",
    "RemotePartyDetail",
    "UpdateSecurityCredentialsKRPRsp",
    "RequestHandoverOfDCCControlledDeviceRsp",
    "RetrieveDeviceSecurityCredentialsKRPRsp",
    "SMETS1Payload",
    "S1SPAlert",
    "ServiceResponse",
]

SRV_UPDATE_SECURITY_CREDENTIALS_KRP = "6.15.1"
SRV_REQUEST_HANDOVER = "6.21"
SRV_RETRIEVE_DEVICE_SECURITY_CREDENTIALS_KRP = "6.24.1"

RESPONSE_KINDS = ("ResponseMessage", "SMETS1ResponseMessage", "DCCAlertMessage", "DeviceAlertMessage")


def service_reference_of(srv: str) -> str:
    """The Service Reference of a Service Reference Variant: "6.15.1" -> "6.15", "6.21" -> "6.21"."""
    parts = srv.split(".") if isinstance(srv, str) else []
    if len(parts) < 2 or not all(p.isdigit() for p in parts):
        raise DuisValueError(f"expected a Service Reference Variant like '6.15.1' or '6.21', got {srv!r}")
    return ".".join(parts[:2])


@dataclass(frozen=True)
class CertificatePair:
    """Replacement certificates (DER). DUIS lets each be absent; a top-up KA certificate is optional."""

    digital_signing: bytes | None
    key_agreement: bytes | None
    key_agreement_top_up: bytes | None = None


@dataclass(frozen=True)
class _CredentialsReplacement:
    """What the 6.15.1 and 6.21 bodies share: certificates to put in a remote party's slot."""

    remote_party_role: str
    floor_seq: int | None
    replacement: CertificatePair
    certification_path: tuple[bytes, ...]
    apply_time_based_cpv_checks: bool
    prepayment_top_up_floor_seq: int | None = None
    execution_datetime: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "certification_path", tuple(self.certification_path))


@dataclass(frozen=True)
class UpdateSecurityCredentialsKRP(_CredentialsReplacement):
    """SRV 6.15.1 body."""


@dataclass(frozen=True)
class RequestHandoverOfDCCControlledDevice(_CredentialsReplacement):
    """SRV 6.21 body (same fields as 6.15.1; in XML the certificates sit directly under ReplacementCertificates)."""


@dataclass(frozen=True)
class RetrieveDeviceSecurityCredentialsKRP:
    """SRV 6.24.1 body: one or more RemotePartyRole."""

    remote_party_roles: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "remote_party_roles", tuple(self.remote_party_roles))


@dataclass(frozen=True)
class SignedPreCommand:
    """A Command Variant 5 body (DUIS ``SignedPreCommand``): the GBCS command the DSP answered the
    transform request with (:class:`PreCommand`), signed by the user with its Organisation
    digital-signing key. The request carries the *same RequestID* as the transform request, and the
    ServiceReference[Variant] of the Pre-Command answer. ``gbcs_payload``: the GBCS bytes (base64 on
    the wire); ``execution_datetime``: DUIS's optional ExecutionDateTime (future-dated)."""

    gbcs_payload: bytes
    execution_datetime: datetime | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.gbcs_payload, (bytes, bytearray)):
            raise DuisValueError(f"expected the GBCS payload as bytes, got {type(self.gbcs_payload).__name__}")
        object.__setattr__(self, "gbcs_payload", bytes(self.gbcs_payload))


@dataclass(frozen=True)
class PreCommand:
    """``ResponseMessage/PreCommand`` of the Transform Service's answer (ResponseCode I0): the GBCS
    command the DSP would send, for the user to sign (``GBCSVersion``, ``GBCSPayload``)."""

    gbcs_version: str
    gbcs_payload: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.gbcs_version, str):
            raise DuisValueError(f"expected a GBCS version as text, like '4.5', got {self.gbcs_version!r}")
        if not isinstance(self.gbcs_payload, (bytes, bytearray)):
            raise DuisValueError(f"expected the GBCS payload as bytes, got {type(self.gbcs_payload).__name__}")
        object.__setattr__(self, "gbcs_payload", bytes(self.gbcs_payload))


RequestBody = Union[UpdateSecurityCredentialsKRP, RequestHandoverOfDCCControlledDevice,
                    RetrieveDeviceSecurityCredentialsKRP, SignedPreCommand]


@dataclass(frozen=True)
class ServiceRequest:
    """A DUIS ``Request``: Header (RequestID, CommandVariant, ServiceReference[Variant]) and Body."""

    request_id: RequestID
    command_variant: int
    srv: str
    body: RequestBody

    def __post_init__(self) -> None:
        if not isinstance(self.request_id, RequestID):
            raise DuisValueError(f"expected request_id as a RequestID, got {type(self.request_id).__name__}")
        service_reference_of(self.srv)  # validates the SRV's shape
        if isinstance(self.command_variant, bool) or not isinstance(self.command_variant, int):
            raise DuisValueError(f"expected an integer CommandVariant, got {self.command_variant!r}")

    @property
    def service_reference(self) -> str:
        return service_reference_of(self.srv)

    @property
    def device_id(self) -> EUI64:
        """The Business Target: the device the request is for."""
        return self.request_id.target

    @property
    def sender(self) -> EUI64:
        """The Business Originator: the User ID of the sender."""
        return self.request_id.originator


@dataclass(frozen=True)
class RemotePartyDetail:
    """One ``RemotePartyDetails`` of a 6.24.1 response: whose certificate sits in which slot.

    ``certificate_hash`` is the certificate's SHA-1 as lower-case hex (on the wire it is base64).
    Fields the XML may omit decode as None.
    """

    role: str | None
    usage: str | None
    remote_party_id: EUI64 | None
    certificate_hash: str | None
    floor_seq: int | None
    status: str | None = "success"

    def __post_init__(self) -> None:
        if self.remote_party_id is not None:
            object.__setattr__(self, "remote_party_id", EUI64(self.remote_party_id))
        if self.certificate_hash is not None:
            h = self.certificate_hash.strip().lower()
            if len(h) != 40 or any(c not in "0123456789abcdef" for c in h):
                raise DuisValueError(f"expected a SHA-1 as 40 hex digits, got {self.certificate_hash!r}")
            object.__setattr__(self, "certificate_hash", h)


@dataclass(frozen=True)
class UpdateSecurityCredentialsKRPRsp:
    """SMETS1 6.15.1 outcome; ``replacement_mode`` -> ExecutionOutcome/CredentialsReplacementMode."""

    replacement_mode: str | None = None


@dataclass(frozen=True)
class RequestHandoverOfDCCControlledDeviceRsp:
    """SMETS1 6.21 outcome; ``replacement_mode`` -> ExecutionOutcome/CredentialsReplacementMode if given."""

    replacement_mode: str | None = None


@dataclass(frozen=True)
class RetrieveDeviceSecurityCredentialsKRPRsp:
    """SMETS1 6.24.1 outcome."""

    details: tuple[RemotePartyDetail, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", tuple(self.details))


SMETS1Payload = Union[
    UpdateSecurityCredentialsKRPRsp, RequestHandoverOfDCCControlledDeviceRsp, RetrieveDeviceSecurityCredentialsKRPRsp
]


@dataclass(frozen=True)
class S1SPAlert:
    """An S1SP alert (e.g. S1VE4, S1VE64) as carried in DCCAlertMessage/DCCAlert/S1SPAlertDSP/S1SPAlert."""

    code: str
    request_id: RequestID | None
    device_id: EUI64 | None
    at: datetime
    additional_information: str | None = None


@dataclass(frozen=True)
class ServiceResponse:
    """A decoded DUIS ``Response``.

    ``kind`` is the Body's element: ResponseMessage, SMETS1ResponseMessage, DCCAlertMessage or
    DeviceAlertMessage. ``credentials`` is filled from a 6.24.1 RetrieveDeviceSecurityCredentialsKRPRsp,
    ``execution_outcome`` from an ExecutionOutcome/CredentialsReplacementMode. ``device_id`` is the
    SMETS1 response's BusinessOriginatorID or the S1SP alert's DeviceID; ``payload`` the decoded
    SMETS1 payload; ``dcc_alert_code`` the DCCAlertCode of a DCC alert; ``has_signature`` whether
    the Response carried an outer ds:Signature (not whether it verified); ``reason`` the free-text
    reason of an acknowledgement made by this codec (an XML comment; unsigned, informational);
    ``pre_command`` the Transform Service's Pre-Command (ResponseMessage/PreCommand), if any.
    """

    request_id: RequestID | None
    response_id: str | None
    response_code: str
    at: datetime
    srv: str | None
    kind: str
    s1sp_alert: S1SPAlert | None = None
    credentials: tuple[RemotePartyDetail, ...] = ()
    execution_outcome: str | None = None
    device_id: EUI64 | None = None
    payload: SMETS1Payload | None = None
    dcc_alert_code: str | None = None
    has_signature: bool = False
    reason: str | None = None
    pre_command: PreCommand | None = None

    def __post_init__(self) -> None:
        if self.kind not in RESPONSE_KINDS:
            raise DuisValueError(f"expected a response kind in {RESPONSE_KINDS}, got {self.kind!r}")
        object.__setattr__(self, "credentials", tuple(self.credentials))

    @property
    def outcome_code(self) -> str:
        """The S1SPAlertCode if this is an S1SP alert, else the ResponseCode (SPEC §2)."""
        return self.s1sp_alert.code if self.s1sp_alert is not None else self.response_code
