"""Encode and decode DUIS ``Request`` / ``Response`` documents (DUIS Schema V5.4).

Every decoder parses through :mod:`duis.safexml` and validates against the schema before
mapping; every encoder validates its output before returning it, so nothing schema-invalid
leaves the codec. Decoding never checks signatures (the DUIS templates carry placeholder
signatures); :func:`decode_response` verifies the outer signature only when asked
(``verify_with``), and :func:`verify_nested` checks the S1SP's inner signature.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timezone

from cryptography import x509
from lxml import etree

from . import safexml, schema, signing
from .errors import DuisValueError, SchemaInvalid, SignatureInvalid, UnsupportedServiceRequest
from .messages import (
    SRV_REQUEST_HANDOVER,
    SRV_RETRIEVE_DEVICE_SECURITY_CREDENTIALS_KRP,
    SRV_UPDATE_SECURITY_CREDENTIALS_KRP,
    CertificatePair,
    RemotePartyDetail,
    RequestHandoverOfDCCControlledDevice,
    RequestHandoverOfDCCControlledDeviceRsp,
    RetrieveDeviceSecurityCredentialsKRP,
    RetrieveDeviceSecurityCredentialsKRPRsp,
    PreCommand,
    S1SPAlert,
    ServiceRequest,
    ServiceResponse,
    SignedPreCommand,
    SMETS1Payload,
    UpdateSecurityCredentialsKRP,
    UpdateSecurityCredentialsKRPRsp,
    service_reference_of,
)
from .signing import Signer
from .types import EUI64, RequestID

__all__ = [
    "SR_NS",
    "RA_NS",
    "DS_NS",
    "SCHEMA_VERSION",
    "S1SP_ALERT_DCC_ALERT_CODE",
    "REASON_PREFIX",
    "encode_request",
    "encode_signed_request",
    "decode_request",
    "encode_acknowledgement",
    "encode_pre_command_response",
    "encode_smets1_response",
    "encode_s1sp_alert",
    "decode_response",
    "verify_nested",
    "format_datetime",
    "parse_datetime",
]

SR_NS = "http://www.dccinterface.co.uk/ServiceUserGateway"
RA_NS = "http://www.dccinterface.co.uk/ResponseAndAlert"
DS_NS = signing.DS_NS
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_VERSION = "5.4"

# DCCAlertCode put on the DCCAlertMessage that carries an S1SP alert. The DUIS schema only
# enumerates the codes (AD1, N1..N65, N999); which one DUIS assigns to "S1SP Alert" is in the
# DUIS prose, not in the shared material. N42 is our reading of that table and is NOT verified
# against the DUIS text; it is overridable per call (``dcc_alert_code=``), the decoder records
# whatever comes (ServiceResponse.dcc_alert_code) and never interprets it, and the features
# assert the S1SPAlertCode inside, never this code (SPEC §2).
S1SP_ALERT_DCC_ALERT_CODE = "N42"

# Prefix of the XML comment that carries an acknowledgement's human-readable reason.
REASON_PREFIX = "reason: "

_SR = f"{{{SR_NS}}}"
_RA = f"{{{RA_NS}}}"
_DS = f"{{{DS_NS}}}"

_REQUEST_NSMAP = {"sr": SR_NS, "ds": DS_NS, "xsi": XSI_NS}  # as the DUIS templates declare
_RESPONSE_NSMAP = {"sr": SR_NS, "ra": RA_NS, "ds": DS_NS}

# SRV -> (body element, body class) for the requests this codec maps.
_REQUEST_BODIES = {
    SRV_UPDATE_SECURITY_CREDENTIALS_KRP: ("UpdateSecurityCredentialsKRP", UpdateSecurityCredentialsKRP),
    SRV_REQUEST_HANDOVER: ("RequestHandoverOfDCCControlledDevice", RequestHandoverOfDCCControlledDevice),
    SRV_RETRIEVE_DEVICE_SECURITY_CREDENTIALS_KRP: (
        "RetrieveDeviceSecurityCredentialsKRP",
        RetrieveDeviceSecurityCredentialsKRP,
    ),
}
_SRV_OF_BODY = {cls: srv for srv, (_, cls) in _REQUEST_BODIES.items()}

# SMETS1 payload class -> (SMETSData element, SRV)
_SMETS1_PAYLOADS = {
    UpdateSecurityCredentialsKRPRsp: ("UpdateSecurityCredentialsKRPRsp", SRV_UPDATE_SECURITY_CREDENTIALS_KRP),
    RequestHandoverOfDCCControlledDeviceRsp: ("RequestHandoverOfDCCControlledDeviceRsp", SRV_REQUEST_HANDOVER),
    RetrieveDeviceSecurityCredentialsKRPRsp: (
        "RetrieveDeviceSecurityCredentialsKRPRsp",
        SRV_RETRIEVE_DEVICE_SECURITY_CREDENTIALS_KRP,
    ),
}


# ra:StatusASN1 carries the status name and, in the required ResponseCode attribute, its ASN.1
# enumeration value. Only "success" (0) is needed here; others are refused rather than guessed.
_ASN1_STATUS_VALUES = {"success": 0}

# --------------------------------------------------------------------------- small helpers


def format_datetime(at: datetime) -> str:
    """xs:dateTime in UTC with milliseconds, as DCC Boxed writes it: ``2022-08-17T15:45:42.790Z``."""
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise DuisValueError(f"expected a timezone-aware datetime, got {at!r}")
    utc = at.astimezone(timezone.utc)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def parse_datetime(text: str) -> datetime:
    """Parse an xs:dateTime; one without a zone is taken as UTC (DUIS times are UTC)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise DuisValueError(f"expected an xs:dateTime like 2022-08-17T15:45:42.790Z, got {text!r}") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, tag)
    if text is not None:
        try:
            el.text = text
        except (TypeError, ValueError) as exc:  # not text, or characters XML cannot hold
            raise DuisValueError(
                f"expected XML-safe text for {etree.QName(tag).localname}, got {text!r:.60} ({exc})"
            ) from None
    return el


def _b64(der: bytes) -> str:
    if not isinstance(der, (bytes, bytearray)):
        raise DuisValueError(f"expected a DER certificate as bytes, got {type(der).__name__}")
    return base64.b64encode(bytes(der)).decode("ascii")


def _unb64(text: str | None, what: str) -> bytes:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise DuisValueError(f"expected base64 in {what}, got {text!r:.60}") from None


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


def _parse_bool(text: str | None) -> bool:
    return (text or "").strip() in ("true", "1")


def _int_or_none(text: str | None) -> int | None:
    return int(text.strip()) if text is not None and text.strip() else None


def _text(el: etree._Element, path: str) -> str | None:
    """The value of the element at `path`: all its text, as canonical XML without comments (what
    the signature covers) reads it -- so `Network<!-- -->Operator` is NetworkOperator, never the
    first text node alone. None when the element is absent or empty."""
    found = el.find(path)
    if found is None:
        return None
    text = _all_text(found)
    return text.strip() if text else None


def _all_text(el: etree._Element) -> str:
    """All the text of `el` and its descendants, comments and processing instructions left out."""
    return "".join(el.itertext())


def _serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _expect_root(root: etree._Element, local: str) -> None:
    if root.tag != _SR + local:
        raise SchemaInvalid(
            "/" + (root.prefix + ":" if root.prefix else "") + etree.QName(root).localname,
            f"expected the document element sr:{local} ({{{SR_NS}}}), got {root.tag}",
        )


def _element_children(el: etree._Element) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str)]


# --------------------------------------------------------------------------- requests


def _append_certificates(parent: etree._Element, pair: CertificatePair) -> None:
    if not isinstance(pair, CertificatePair):
        raise DuisValueError(f"expected replacement certificates as a CertificatePair, got {type(pair).__name__}")
    for tag, der in (
        ("DigitalSigningCertificate", pair.digital_signing),
        ("KeyAgreementCertificate", pair.key_agreement),
        ("KeyAgreementTopUpCertificate", pair.key_agreement_top_up),
    ):
        if der is not None:
            _sub(parent, _SR + tag, _b64(der))


def _append_credentials_body(
    body_el: etree._Element, body: UpdateSecurityCredentialsKRP | RequestHandoverOfDCCControlledDevice, krp: bool
) -> None:
    if body.execution_datetime is not None:
        _sub(body_el, _SR + "ExecutionDateTime", format_datetime(body.execution_datetime))
    _sub(body_el, _SR + "RemotePartyRole", body.remote_party_role)
    if body.floor_seq is not None:
        _sub(body_el, _SR + "RemotePartyFloorSeqNumber", str(body.floor_seq))
    if body.prepayment_top_up_floor_seq is not None:
        _sub(body_el, _SR + "RemotePartyPrepaymentTopUpFloorSeqNumber", str(body.prepayment_top_up_floor_seq))
    replacement = _sub(body_el, _SR + "ReplacementCertificates")
    if krp:
        replacement = _sub(replacement, _SR + "SupplierOrNetworkOperatorCertificates")
    _append_certificates(replacement, body.replacement)
    path = _sub(body_el, _SR + "CertificationPathCertificates")
    for der in body.certification_path:
        _sub(path, _SR + "Certificate", _b64(der))
    _sub(body_el, _SR + "ApplyTimeBasedCPVChecks", _bool_text(body.apply_time_based_cpv_checks))


def _request_element(req: ServiceRequest) -> etree._Element:
    if not isinstance(req, ServiceRequest):
        raise DuisValueError(f"expected a ServiceRequest, got {type(req).__name__}")
    if isinstance(req.body, SignedPreCommand):
        return _signed_pre_command_element(req)
    expected_srv = _SRV_OF_BODY.get(type(req.body))
    if expected_srv is None:
        raise UnsupportedServiceRequest(
            req.srv, f"expected a body of {sorted(c.__name__ for c in _SRV_OF_BODY)}, got {type(req.body).__name__}"
        )
    if req.srv != expected_srv:
        raise DuisValueError(
            f"expected Service Reference Variant {expected_srv} for a {type(req.body).__name__} body, got {req.srv}"
        )
    root, body = _request_root(req)
    element_name, _ = _REQUEST_BODIES[req.srv]
    body_el = _sub(body, _SR + element_name)
    if isinstance(req.body, RetrieveDeviceSecurityCredentialsKRP):
        for role in req.body.remote_party_roles:
            _sub(body_el, _SR + "RemotePartyRole", role)
    else:
        _append_credentials_body(body_el, req.body, krp=isinstance(req.body, UpdateSecurityCredentialsKRP))
    return root


def _request_root(req: ServiceRequest) -> tuple[etree._Element, etree._Element]:
    root = etree.Element(_SR + "Request", nsmap=_REQUEST_NSMAP, schemaVersion=SCHEMA_VERSION)
    header = _sub(root, _SR + "Header")
    _sub(header, _SR + "RequestID", str(req.request_id))
    _sub(header, _SR + "CommandVariant", str(req.command_variant))
    _sub(header, _SR + "ServiceReference", req.service_reference)
    _sub(header, _SR + "ServiceReferenceVariant", req.srv)
    return root, _sub(root, _SR + "Body")


def _signed_pre_command_element(req: ServiceRequest) -> etree._Element:
    """Body/SignedPreCommand ([ExecutionDateTime], GBCSPayload): the Command Variant 5 request of the
    DCC's own interface. The SRV is the Pre-Command answer's; the schema checks it is a DUIS one."""
    root, body = _request_root(req)
    el = _sub(body, _SR + "SignedPreCommand")
    if req.body.execution_datetime is not None:
        _sub(el, _SR + "ExecutionDateTime", format_datetime(req.body.execution_datetime))
    _sub(el, _SR + "GBCSPayload", _b64(req.body.gbcs_payload))
    return root


def encode_request(req: ServiceRequest) -> bytes:
    """An unsigned, schema-valid ``sr:Request`` (the schema makes ds:Signature optional), in the wire
    form: no whitespace-only text between elements (duis/wire.py)."""
    root = _request_element(req)
    schema.validate(root)
    return _serialize(root)


def encode_signed_request(req: ServiceRequest, signer: Signer) -> bytes:
    """``encode_request`` then an enveloped signature by ``signer``; validated after signing. The
    bytes the harness puts on the wire, as they are: no whitespace-only text between elements, as
    the DCC's signing tool digests them (duis/wire.py, SPEC §5 wire form)."""
    signed = signing.sign_element(_request_element(req), signer, in_place=True)   # built here: ours
    schema.validate(signed)
    return _serialize(signed)


def _decode_certificates(el: etree._Element) -> CertificatePair:
    def der(tag: str) -> bytes | None:
        child = el.find(_SR + tag)
        return None if child is None else _unb64(_all_text(child), tag)

    return CertificatePair(
        digital_signing=der("DigitalSigningCertificate"),
        key_agreement=der("KeyAgreementCertificate"),
        key_agreement_top_up=der("KeyAgreementTopUpCertificate"),
    )


def _decode_credentials_body(body_el: etree._Element, cls, krp: bool):
    replacement = body_el.find(_SR + "ReplacementCertificates")
    if krp:
        replacement = replacement.find(_SR + "SupplierOrNetworkOperatorCertificates")
    execution = _text(body_el, _SR + "ExecutionDateTime")
    return cls(
        remote_party_role=_text(body_el, _SR + "RemotePartyRole"),
        floor_seq=_int_or_none(_text(body_el, _SR + "RemotePartyFloorSeqNumber")),
        replacement=_decode_certificates(replacement),
        certification_path=tuple(
            _unb64(_all_text(c), "Certificate") for c in body_el.iterfind(f"{_SR}CertificationPathCertificates/{_SR}Certificate")
        ),
        apply_time_based_cpv_checks=_parse_bool(_text(body_el, _SR + "ApplyTimeBasedCPVChecks")),
        prepayment_top_up_floor_seq=_int_or_none(_text(body_el, _SR + "RemotePartyPrepaymentTopUpFloorSeqNumber")),
        execution_datetime=parse_datetime(execution) if execution else None,
    )


def decode_request(xml: bytes, *, signed_pre_command: bool = False) -> ServiceRequest:
    """Parse (hostile-XML safe), schema-validate and map a ``Request``. Signatures are not checked.

    A ``SignedPreCommand`` body (Command Variant 5, the DCC's own interface) is mapped to
    :class:`~duis.messages.SignedPreCommand` only with ``signed_pre_command=True`` (a DCC
    interface's Send Command Service); otherwise it is :class:`UnsupportedServiceRequest`, as on
    Target Interface v1."""
    root = safexml.parse(xml)
    _expect_root(root, "Request")
    schema.validate(root)
    header = root.find(_SR + "Header")
    request_id = RequestID.parse(_text(header, _SR + "RequestID"))
    command_variant = int(_text(header, _SR + "CommandVariant"))
    service_reference = _text(header, _SR + "ServiceReference")
    srv = _text(header, _SR + "ServiceReferenceVariant")
    body_children = _element_children(root.find(_SR + "Body"))
    body_el = body_children[0]  # the schema's choice guarantees exactly one
    body_name = etree.QName(body_el).localname
    if srv not in _REQUEST_BODIES:
        raise UnsupportedServiceRequest(
            srv,
            f"expected Service Reference Variant {', '.join(_REQUEST_BODIES)}, got {srv} (body {body_name})",
        )
    if service_reference != service_reference_of(srv):
        raise DuisValueError(
            f"expected ServiceReference {service_reference_of(srv)} for variant {srv}, got {service_reference}"
        )
    expected_name, cls = _REQUEST_BODIES[srv]
    if body_name == "SignedPreCommand" and signed_pre_command:
        execution = _text(body_el, _SR + "ExecutionDateTime")
        return ServiceRequest(request_id=request_id, command_variant=command_variant, srv=srv, body=SignedPreCommand(
            gbcs_payload=_unb64(_text(body_el, _SR + "GBCSPayload"), "GBCSPayload"),
            execution_datetime=parse_datetime(execution) if execution else None))
    if body_name != expected_name:
        if body_name == "SignedPreCommand":
            raise UnsupportedServiceRequest(
                srv, f"expected a {expected_name} body for {srv}, got a SignedPreCommand (not supported)"
            )
        raise DuisValueError(f"expected a {expected_name} body for Service Reference Variant {srv}, got {body_name}")
    if cls is RetrieveDeviceSecurityCredentialsKRP:
        body = RetrieveDeviceSecurityCredentialsKRP(
            tuple(_all_text(r).strip() for r in body_el.iterfind(_SR + "RemotePartyRole"))
        )
    else:
        body = _decode_credentials_body(body_el, cls, krp=cls is UpdateSecurityCredentialsKRP)
    return ServiceRequest(request_id=request_id, command_variant=command_variant, srv=srv, body=body)


# --------------------------------------------------------------------------- responses


def _response_root(request_id: RequestID | None, code: str, at: datetime) -> tuple[etree._Element, etree._Element]:
    if request_id is not None and not isinstance(request_id, RequestID):
        raise DuisValueError(f"expected request_id as a RequestID or None, got {type(request_id).__name__}")
    root = etree.Element(_SR + "Response", nsmap=_RESPONSE_NSMAP, schemaVersion=SCHEMA_VERSION)
    header = _sub(root, _SR + "Header")
    if request_id is not None:
        _sub(header, _SR + "RequestID", str(request_id))
        _sub(header, _SR + "ResponseID", str(request_id.swapped()))
    _sub(header, _SR + "ResponseCode", code)
    _sub(header, _SR + "ResponseDateTime", format_datetime(at))
    body = _sub(root, _SR + "Body")
    return root, body


def _finish(root: etree._Element) -> bytes:
    schema.validate(root)
    return _serialize(root)


def _comment_text(reason: str) -> str:
    # XML comments may not contain "--", end in "-", or hold control characters.
    text = "".join(
        ch if (ch in "\t\n" or ord(ch) >= 0x20) and not 0xD800 <= ord(ch) <= 0xDFFF and ch not in "\ufffe\uffff"
        else " "
        for ch in str(reason)
    )
    text = text.replace("<", "\u2039").replace(">", "\u203a")  # never echo markup (e.g. <!DOCTYPE) back
    while "--" in text:
        text = text.replace("--", "- -")
    return f" {REASON_PREFIX}{text.rstrip('-')} "


def encode_acknowledgement(
    request_id: RequestID | None, code: str, srv: str, at: datetime, *, reason: str | None = None
) -> bytes:
    """An unsigned ``sr:Response``: ResponseMessage with ServiceReference[Variant]; for I99, I0 or E codes.

    ``request_id`` may be None (the RequestID could not be read): then the header carries neither
    RequestID nor ResponseID. ``srv`` is required: DUIS Schema V5.4 has no valid ResponseMessage
    without ServiceReference and ServiceReferenceVariant, so an input whose SRV cannot be read
    cannot be answered with a schema-valid acknowledgement (DuisValueError). ``reason`` (free
    text saying why) travels as an XML comment in the ResponseMessage: schema-neutral, and not
    covered by the signature (``URI=""`` references exclude comments); decoded into
    ``ServiceResponse.reason``. The DSP signs the result with :func:`duis.signing.sign`.
    """
    if srv is None:
        raise DuisValueError(
            "expected the Service Reference Variant to acknowledge, got None: a DUIS Schema V5.4 "
            "ResponseMessage requires ServiceReference and ServiceReferenceVariant"
        )
    root, body = _response_root(request_id, code, at)
    message = _sub(body, _SR + "ResponseMessage")
    _sub(message, _SR + "ServiceReference", service_reference_of(srv))
    _sub(message, _SR + "ServiceReferenceVariant", srv)
    if reason:
        message.append(etree.Comment(_comment_text(reason)))
    return _finish(root)


def encode_pre_command_response(
    request_id: RequestID, srv: str, pre_command: PreCommand, at: datetime, *, reason: str | None = None
) -> bytes:
    """The Transform Service's synchronous answer to a Command Variant 4 request (the DCC's own
    interface): an unsigned ``sr:Response`` with ResponseCode I0 and Body/ResponseMessage
    (ServiceReference, ServiceReferenceVariant, PreCommand(GBCSVersion, GBCSPayload)). The user
    signs the GBCS payload and sends it back with Command Variant 5 under the same RequestID. The
    DSP signs the result with :func:`duis.signing.sign`."""
    if not isinstance(request_id, RequestID):
        raise DuisValueError(f"expected request_id as a RequestID, got {type(request_id).__name__}")
    if not isinstance(pre_command, PreCommand):
        raise DuisValueError(f"expected a PreCommand, got {type(pre_command).__name__}")
    root, body = _response_root(request_id, "I0", at)
    message = _sub(body, _SR + "ResponseMessage")
    _sub(message, _SR + "ServiceReference", service_reference_of(srv))
    _sub(message, _SR + "ServiceReferenceVariant", srv)
    pre = _sub(message, _SR + "PreCommand")
    _sub(pre, _SR + "GBCSVersion", pre_command.gbcs_version)
    _sub(pre, _SR + "GBCSPayload", _b64(pre_command.gbcs_payload))
    if reason:
        message.append(etree.Comment(_comment_text(reason)))
    return _finish(root)


def _decode_pre_command(message: etree._Element) -> PreCommand | None:
    el = message.find(_SR + "PreCommand")
    if el is None:
        return None
    return PreCommand(gbcs_version=_text(el, _SR + "GBCSVersion") or "",
                      gbcs_payload=_unb64(_text(el, _SR + "GBCSPayload"), "GBCSPayload"))


def _append_execution_outcome(parent: etree._Element, replacement_mode: str | None) -> None:
    if replacement_mode is not None:
        outcome = _sub(parent, _RA + "ExecutionOutcome")
        _sub(outcome, _RA + "CredentialsReplacementMode", replacement_mode)


def _remote_party_details_element(parent: etree._Element, detail: RemotePartyDetail) -> None:
    if not isinstance(detail, RemotePartyDetail):
        raise DuisValueError(f"expected RemotePartyDetail items, got {type(detail).__name__}")
    el = _sub(parent, _RA + "RemotePartyDetails")
    if detail.role is not None:
        _sub(el, _RA + "RemotePartyRole", detail.role)
    if detail.status is not None:
        if detail.status not in _ASN1_STATUS_VALUES:
            raise DuisValueError(
                f"expected a RemotePartyDetail status in {sorted(_ASN1_STATUS_VALUES)} (the encoder knows only "
                f"their ASN.1 values), got {detail.status!r}"
            )
        status = _sub(el, _RA + "StatusCode")
        status.set("ResponseCode", str(_ASN1_STATUS_VALUES[detail.status]))
        _sub(status, _RA + "ASN1Status", detail.status)
    if detail.floor_seq is not None:
        _sub(el, _RA + "RemotePartyFloorSeqNumber", str(detail.floor_seq))
    if detail.usage is not None:
        _sub(el, _RA + "CertificateUsage", detail.usage)
    if detail.remote_party_id is not None:
        _sub(el, _RA + "ExistingRemotePartyID", str(detail.remote_party_id))
    if detail.certificate_hash is not None:
        _sub(el, _RA + "ExistingCertificateHash", base64.b64encode(bytes.fromhex(detail.certificate_hash)).decode())


def encode_smets1_response(
    request_id: RequestID,
    device_id: EUI64 | str,
    user_id: EUI64 | str,
    srv: str,
    payload: SMETS1Payload,
    at: datetime,
    s1sp_signer: Signer,
    *,
    response_code: str = "I0",
) -> bytes:
    """An unsigned ``sr:Response`` carrying a SMETS1 outcome signed by the S1SP.

    Body/SMETS1ResponseMessage(ServiceReference, ServiceReferenceVariant, SMETS1SignedResponse(
    SMETS1Response(Header: BusinessOriginatorID=device, BusinessTargetID=user,
    OriginatorCounter=request counter, ServiceReference[Variant]; Body/ResponseMessage/SMETSData/
    <payload>), ds:Signature)). The SMETS1SignedResponse is signed as a standalone document and
    grafted in; the DSP then signs the whole Response.
    """
    if not isinstance(request_id, RequestID):
        raise DuisValueError(f"expected request_id as a RequestID, got {type(request_id).__name__}")
    entry = _SMETS1_PAYLOADS.get(type(payload))
    if entry is None:
        raise DuisValueError(
            f"expected a payload of {sorted(c.__name__ for c in _SMETS1_PAYLOADS)}, got {type(payload).__name__}"
        )
    payload_name, payload_srv = entry
    if srv != payload_srv:
        raise DuisValueError(f"expected Service Reference Variant {payload_srv} for {payload_name}, got {srv}")
    service_reference = service_reference_of(srv)

    signed_response = etree.Element(
        _SR + "SMETS1SignedResponse", nsmap={"sr": SR_NS, "ra": RA_NS}, schemaVersion=SCHEMA_VERSION
    )
    smets1_response = _sub(signed_response, _SR + "SMETS1Response")
    header = _sub(smets1_response, _SR + "Header")
    _sub(header, _RA + "BusinessOriginatorID", str(EUI64(device_id)))
    _sub(header, _RA + "BusinessTargetID", str(EUI64(user_id)))
    _sub(header, _RA + "OriginatorCounter", str(request_id.counter))
    _sub(header, _RA + "ServiceReference", service_reference)
    _sub(header, _RA + "ServiceReferenceVariant", srv)
    message = _sub(_sub(smets1_response, _SR + "Body"), _SR + "ResponseMessage")
    payload_el = _sub(_sub(message, _RA + "SMETSData"), _RA + payload_name)
    if isinstance(payload, RetrieveDeviceSecurityCredentialsKRPRsp):
        for detail in payload.details:
            _remote_party_details_element(payload_el, detail)
    else:
        _append_execution_outcome(payload_el, payload.replacement_mode)
    # Not validated on its own: DUIS Schema V5.4 declares SMETS1SignedResponse globally and the
    # Response refers to it, so validating the whole Response below (_finish) covers it once.
    signed_response = signing.sign_element(signed_response, s1sp_signer, nested=True, in_place=True)

    root, body = _response_root(request_id, response_code, at)
    outer = _sub(body, _SR + "SMETS1ResponseMessage")
    _sub(outer, _SR + "ServiceReference", service_reference)
    _sub(outer, _SR + "ServiceReferenceVariant", srv)
    outer.append(signed_response)
    return _finish(root)


def encode_s1sp_alert(
    request_id: RequestID | None,
    device_id: EUI64 | str | None,
    code: str,
    at: datetime,
    s1sp_signer: Signer,
    additional_information: str | None = None,
    *,
    dcc_alert_code: str = S1SP_ALERT_DCC_ALERT_CODE,
    response_code: str = "I0",
) -> bytes:
    """An unsigned ``sr:Response`` carrying an S1SP alert (e.g. S1VE4, S1VE64).

    Body/DCCAlertMessage(DCCAlertCode, DCCAlert/S1SPAlertDSP/S1SPAlert(RequestID, DeviceID,
    S1SPAlertCode, AdditionalInformation, DateTime, ds:Signature)). The S1SPAlert is signed by the
    S1SP as a standalone document and grafted in. The header's ResponseCode defaults to I0 (the
    alert was delivered); the outcome is the S1SPAlertCode (``ServiceResponse.outcome_code``).
    """
    alert = etree.Element(_SR + "S1SPAlert", nsmap={"sr": SR_NS}, schemaVersion=SCHEMA_VERSION)
    if request_id is not None:
        if not isinstance(request_id, RequestID):
            raise DuisValueError(f"expected request_id as a RequestID or None, got {type(request_id).__name__}")
        _sub(alert, _SR + "RequestID", str(request_id))
    if device_id is not None:
        _sub(alert, _SR + "DeviceID", str(EUI64(device_id)))
    _sub(alert, _SR + "S1SPAlertCode", code)
    if additional_information is not None:
        _sub(alert, _SR + "AdditionalInformation", additional_information)
    _sub(alert, _SR + "DateTime", format_datetime(at))
    # Validated as part of the whole Response (_finish): S1SPAlert is a global element it refers to.
    alert = signing.sign_element(alert, s1sp_signer, nested=True, in_place=True)

    root, body = _response_root(request_id, response_code, at)
    message = _sub(body, _SR + "DCCAlertMessage")
    _sub(message, _SR + "DCCAlertCode", dcc_alert_code)
    _sub(_sub(message, _SR + "DCCAlert"), _SR + "S1SPAlertDSP").append(alert)
    return _finish(root)


def _decode_remote_party_details(el: etree._Element) -> RemotePartyDetail:
    hash_text = _text(el, _RA + "ExistingCertificateHash")
    certificate_hash = None
    if hash_text is not None:
        raw = _unb64(hash_text, "ExistingCertificateHash")
        if len(raw) == 20:
            certificate_hash = raw.hex()
        elif len(hash_text) == 40 and all(c in "0123456789abcdefABCDEF" for c in hash_text):
            certificate_hash = hash_text.lower()  # a target writing hex instead of base64: tolerated
        else:
            raise DuisValueError(
                f"expected ExistingCertificateHash as the base64 of a 20-byte SHA-1, got {hash_text!r} "
                f"({len(raw)} bytes)"
            )
    remote_party_id = _text(el, _RA + "ExistingRemotePartyID")
    return RemotePartyDetail(
        role=_text(el, _RA + "RemotePartyRole"),
        usage=_text(el, _RA + "CertificateUsage"),
        remote_party_id=EUI64(remote_party_id) if remote_party_id else None,
        certificate_hash=certificate_hash,
        floor_seq=_int_or_none(_text(el, _RA + "RemotePartyFloorSeqNumber")),
        status=_text(el, f"{_RA}StatusCode/{_RA}ASN1Status"),
    )


def _decode_smets1_payload(smets_data: etree._Element | None) -> SMETS1Payload | None:
    if smets_data is None:
        return None
    children = _element_children(smets_data)
    if not children:
        return None
    el = children[0]
    name = etree.QName(el).localname
    mode = _text(el, f"{_RA}ExecutionOutcome/{_RA}CredentialsReplacementMode")
    if name == "UpdateSecurityCredentialsKRPRsp":
        return UpdateSecurityCredentialsKRPRsp(replacement_mode=mode)
    if name == "RequestHandoverOfDCCControlledDeviceRsp":
        return RequestHandoverOfDCCControlledDeviceRsp(replacement_mode=mode)
    if name == "RetrieveDeviceSecurityCredentialsKRPRsp":
        return RetrieveDeviceSecurityCredentialsKRPRsp(
            tuple(_decode_remote_party_details(d) for d in el.iterfind(_RA + "RemotePartyDetails"))
        )
    return None  # a valid SMETS1 payload this codec does not map


def _decode_s1sp_alert(el: etree._Element) -> S1SPAlert:
    request_id = _text(el, _SR + "RequestID")
    device_id = _text(el, _SR + "DeviceID")
    return S1SPAlert(
        code=_text(el, _SR + "S1SPAlertCode"),
        request_id=RequestID.parse(request_id) if request_id else None,
        device_id=EUI64(device_id) if device_id else None,
        at=parse_datetime(_text(el, _SR + "DateTime")),
        additional_information=_text(el, _SR + "AdditionalInformation"),
    )


def decode_response(xml: bytes, *, verify_with: x509.Certificate | None = None) -> ServiceResponse:
    """Parse (hostile-XML safe), optionally verify the outer signature, schema-validate and map a ``Response``.

    With ``verify_with`` (the DSP's certificate) the outer signature is verified first and a
    missing or failing one raises :class:`SignatureInvalid`. The S1SP's inner signature is left to
    :func:`verify_nested`.
    """
    root = safexml.parse(xml)
    if verify_with is not None:
        signing.verify(root, verify_with)
    _expect_root(root, "Response")
    schema.validate(root)

    header = root.find(_SR + "Header")
    request_id_text = _text(header, _SR + "RequestID")
    message = _element_children(root.find(_SR + "Body"))[0]
    kind = etree.QName(message).localname
    srv = _text(message, _SR + "ServiceReferenceVariant")
    fields: dict = {}
    for comment in message.iterchildren(etree.Comment):
        text = (comment.text or "").strip()
        if text.startswith(REASON_PREFIX.strip()):
            fields["reason"] = text[len(REASON_PREFIX.strip()):].strip()
            break

    if kind == "SMETS1ResponseMessage":
        smets1 = message.find(f"{_SR}SMETS1SignedResponse/{_SR}SMETS1Response")
        inner_header = smets1.find(_SR + "Header")
        fields["device_id"] = EUI64(_text(inner_header, _RA + "BusinessOriginatorID"))
        srv = srv or _text(inner_header, _RA + "ServiceReferenceVariant")
        payload = _decode_smets1_payload(smets1.find(f"{_SR}Body/{_SR}ResponseMessage/{_RA}SMETSData"))
        fields["payload"] = payload
        if isinstance(payload, RetrieveDeviceSecurityCredentialsKRPRsp):
            fields["credentials"] = payload.details
        elif payload is not None:
            fields["execution_outcome"] = payload.replacement_mode
    elif kind == "ResponseMessage":
        pre_command = _decode_pre_command(message)
        if pre_command is not None:
            fields["pre_command"] = pre_command
    elif kind == "DCCAlertMessage":
        fields["dcc_alert_code"] = _text(message, _SR + "DCCAlertCode")
        alert_el = message.find(f"{_SR}DCCAlert/{_SR}S1SPAlertDSP/{_SR}S1SPAlert")
        if alert_el is not None:
            alert = _decode_s1sp_alert(alert_el)
            fields["s1sp_alert"] = alert
            fields["device_id"] = alert.device_id

    return ServiceResponse(
        request_id=RequestID.parse(request_id_text) if request_id_text else None,
        response_id=_text(header, _SR + "ResponseID"),
        response_code=_text(header, _SR + "ResponseCode"),
        at=parse_datetime(_text(header, _SR + "ResponseDateTime")),
        srv=srv,
        kind=kind,
        has_signature=root.find(_DS + "Signature") is not None,
        **fields,
    )


def verify_nested(xml: bytes, s1sp_cert: x509.Certificate) -> bytes:
    """Verify the S1SP's signature on the SMETS1SignedResponse or S1SPAlert inside a ``Response``.

    Returns the signed bytes; raises :class:`SignatureInvalid` if there is no such element, or
    its signature is absent or does not verify against ``s1sp_cert``.
    """
    root = safexml.parse(xml)
    _expect_root(root, "Response")
    nested = root.find(f"{_SR}Body/{_SR}SMETS1ResponseMessage/{_SR}SMETS1SignedResponse")
    if nested is None:
        nested = root.find(f"{_SR}Body/{_SR}DCCAlertMessage/{_SR}DCCAlert/{_SR}S1SPAlertDSP/{_SR}S1SPAlert")
    if nested is None:
        body = root.find(_SR + "Body")
        children = _element_children(body) if body is not None else []
        got = etree.QName(children[0]).localname if children else "no Body content"
        raise SignatureInvalid(
            f"expected a SMETS1ResponseMessage/SMETS1SignedResponse or an S1SPAlert to verify, got {got}"
        )
    # Re-parse the element as a standalone document: the S1SP signed it standalone.
    standalone = safexml.parse(etree.tostring(nested))
    return signing.verify(standalone, s1sp_cert)


# --------------------------------------------------------------------------- refusals of unreadable input

def encode_refusal(code: str, reason: str, at: datetime) -> bytes:
    """The answer to input that could not be read as a DUIS Request (SPEC §5: HTTP 400 with an XML
    ``Response`` that says why).

    This is the one message the codec writes that DUIS Schema V5.4 does not validate: a
    ResponseMessage needs a ServiceReference and ServiceReferenceVariant, and an unreadable input
    has none. So the ResponseMessage is left empty, the reason travels as a comment, and only
    :func:`decode_refusal` reads it back (``decode_response`` refuses it as schema-invalid).
    """
    root, body = _response_root(None, code, at)
    message = _sub(body, _SR + "ResponseMessage")
    message.append(etree.Comment(_comment_text(reason)))
    return _serialize(root)


def decode_refusal(xml: bytes, *, verify_with: x509.Certificate | None = None) -> ServiceResponse:
    """Read a refusal written by :func:`encode_refusal` (or any schema-valid Response)."""
    root = safexml.parse(xml)
    if verify_with is not None:
        signing.verify(root, verify_with)
    _expect_root(root, "Response")
    try:
        schema.validate(root)
    except SchemaInvalid:
        header = root.find(_SR + "Header")
        message = root.find(f"{_SR}Body/{_SR}ResponseMessage")
        code = _text(header, _SR + "ResponseCode") if header is not None else None
        at = _text(header, _SR + "ResponseDateTime") if header is not None else None
        if message is None or code is None or at is None or _element_children(message):
            raise
        reason = None
        for comment in message.iterchildren(etree.Comment):
            text = (comment.text or "").strip()
            if text.startswith(REASON_PREFIX.strip()):
                reason = text[len(REASON_PREFIX.strip()):].strip()
        return ServiceResponse(request_id=None, response_id=None, response_code=code,
                               at=parse_datetime(at), srv=None,
                               kind="ResponseMessage", has_signature=root.find(_DS + "Signature") is not None,
                               reason=reason)
    return decode_response(xml)
