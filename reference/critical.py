"""The DCC's own interface: the Critical flow, as DCC Boxed exposes it (SPEC §5 "The DCC interface
dialect"; the routes are reference/server/dcc_interface.py).

On Target Interface v1 the DSP completes a Critical request (SRV 6.15.1, Command Variant 4) itself.
On the DCC's own interface it does not: the round trip is real.

1. **Transform** (`transform`, POST /api/v1/serviceT): a Critical request with Command Variant 4
   passes the DSP's checks (SPEC §4, `DSP.admit`: signature, counter, role, device, Registration
   Data, remote party role) and is answered synchronously with I0 and a *Pre-Command*: the GBCS
   command the DSP would send (`pre_command`), CS02b Update Security Credentials from the user to
   the device, Originator Counter = the RequestID's counter. Nothing is sent to the device. The
   DSP remembers which Pre-Command it issued under which RequestID (`Transform`).
2. The user signs the GBCS command with its Organisation digital-signing key (gbcs.sign).
3. **Send Command** (`send_command`, POST /api/v1/serviceS): the Signed Pre-Command comes back
   with Command Variant 5 under the *same RequestID*. It is checked against the transform request
   it belongs to: a Pre-Command was issued under that RequestID and not used yet; the same user
   (the DSP's checks again, on this request's XML signature; the counter is the transform's, so
   the counter check is not applied twice); the same device and Service Reference Variant; the GBCS
   command unaltered but for the appended signature. Anything else: E1, and nothing changes. Then
   I99, and the request goes on to the device's S1SP (or the SMETS2 device) with the signed GBCS
   command, whose signature is the ownership check there (rules.s1sp_ownership,
   rules.smets2_ownership): only the holder of the key of the digital-signing certificate in the
   slot can replace it.
   Device requests with Command Variant 1-3 (6.21, 6.24.1) go through this endpoint as on
   Target Interface v1.
4. **Non-Device** (`non_device`, POST /api/v1/serviceD): the reference offers no non-device
   Service Request; a device request sent there is E13.

Codes: E13 (DUIS: Request Type not valid for the URL) for a request sent to the wrong endpoint;
E12 for a Critical request on serviceS without a Signed Pre-Command, or one with Command Variant 6
or 7 (local delivery, not offered); E3 for a request whose certificates cannot be carried in a
GBCS command (e.g. not DER); E1 for a Signed Pre-Command that matches no Pre-Command this DSP issued
under its RequestID (as for a request whose signature does not bind it to its sender, MP107-R4.1).

The realistic defects of reference/defects.py about the ownership check (s1sp-ownership-by-
registration, s1sp-remembers-previous-owner) spoil the Target Interface v1 comparison of User IDs;
on this interface the check is the GBCS signature, which they leave alone.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime, timezone

import gbcs
from duis import codec, errors, messages

from . import codes, config as cfg, defects
from .dsp import Verdict


GBCS_VERSION = "4.5"
"""GBCSVersion in the Pre-Command answer: the GBCS version whose public vectors (RTDS 4.5.0) the
codec is checked against."""
MAX_PENDING = 1_000
"""Pre-Commands remembered at once per user; its oldest are forgotten first (the user then transforms
again). Per user: one user's transforms can never evict another's (10,052 of them once did, and the
victim's Signed Pre-Command got E1)."""
PENDING_SECONDS = 3600.0
"""How long a Pre-Command may wait for its signature."""
SIGNATURE_FIELD = 1 + 64
"""What signing appends: the signature length byte 0x40 and r||s."""

# RemotePartyRole of a 6.15.1 -> (GBCS remote party role, CS02b message code, credentials replacement mode)
_USE_CASES = {
    "Supplier": (gbcs.RemotePartyRole.SUPPLIER, 0x0102, gbcs.CredentialsReplacementMode.SUPPLIER_BY_SUPPLIER),
    "NetworkOperator": (gbcs.RemotePartyRole.NETWORK_OPERATOR, gbcs.MESSAGE_CODE_NETWORK_OPERATOR_BY_NETWORK_OPERATOR,
                        gbcs.CredentialsReplacementMode.NETWORK_OPERATOR_BY_NETWORK_OPERATOR),
}


def pre_command(request: messages.ServiceRequest) -> bytes:
    """The GBCS Pre-Command for a 6.15.1 (Update Security Credentials KRP): a General Signing APDU
    carrying CS02b from the sender (Originator System Title) to the device (Recipient System Title),
    Originator Counter and Authorising Remote Party Seq Number = the RequestID's counter, each
    replacement certificate into the cell its DUIS element names (DigitalSigningCertificate ->
    digitalSignature, KeyAgreementCertificate -> keyAgreement, KeyAgreementTopUpCertificate ->
    keyAgreement, prePaymentTopUp), authorised by the remote party's digital-signing cell, and
    ending in a zero signature-length byte (the Pre-Command awaits the user's signature), as GBCS
    and DCC Boxed 1.4.1+ give it. Apply Time Based CPV Checks: absent when DUIS says true (apply,
    the default), 1 (disapply) when false; as in the RTDS 4.5.0 vectors of the DUIS templates.
    Raises gbcs.GbcsValueError for what GBCS cannot carry (a slot GBCS has no CS02b use case for,
    a certificate that is not one DER SEQUENCE)."""
    body = request.body
    if not isinstance(body, messages.UpdateSecurityCredentialsKRP):
        raise gbcs.GbcsValueError(f"expected an Update Security Credentials (KRP) body, got {type(body).__name__}")
    use_case = _USE_CASES.get(body.remote_party_role)
    if use_case is None:
        raise gbcs.GbcsValueError(f"no CS02b use case replaces the {body.remote_party_role} slot by its own holder")
    role, message_code, mode = use_case
    cells = ((body.replacement.digital_signing, gbcs.KeyUsage.DIGITAL_SIGNATURE, gbcs.CellUsage.MANAGEMENT),
             (body.replacement.key_agreement, gbcs.KeyUsage.KEY_AGREEMENT, gbcs.CellUsage.MANAGEMENT),
             (body.replacement.key_agreement_top_up, gbcs.KeyUsage.KEY_AGREEMENT, gbcs.CellUsage.PREPAYMENT_TOP_UP))
    replacements = tuple(gbcs.TrustAnchorReplacement(der, gbcs.TrustAnchorCell(role, usage, cell))
                         for der, usage, cell in cells if der is not None)
    if not replacements:
        raise gbcs.GbcsValueError("no replacement certificate to carry")
    counter = request.request_id.counter
    top_up = body.prepayment_top_up_floor_seq
    when = body.execution_datetime
    command = gbcs.Cs02bCommand(
        header=gbcs.GeneralSigningHeader(
            cra_flag=gbcs.CraFlag.COMMAND, originator_counter=counter,
            originator_system_title=gbcs.eui64_bytes(str(request.request_id.originator)),
            recipient_system_title=gbcs.eui64_bytes(str(request.request_id.target)),
            message_code=message_code),
        body=gbcs.UpdateSecurityCredentials(
            control=gbcs.AuthorisingRemotePartyControl(
                credentials_replacement_mode=mode,
                authorising_remote_party_seq_number=counter,
                apply_time_based_cpv_checks=(None if body.apply_time_based_cpv_checks
                                             else gbcs.ApplyTimeBasedCpvChecks.DISAPPLY),
                authorising_remote_party_ta_cell=gbcs.TrustAnchorCell(role, gbcs.KeyUsage.DIGITAL_SIGNATURE),
                new_remote_party_floor_seq_number=body.floor_seq,
                new_remote_party_specialist_floor_seq_numbers=(
                    (gbcs.SpecialistSeqNumber(gbcs.SeqNumberUsage.PREPAYMENT_TOP_UP, top_up),)
                    if top_up is not None else None)),
            replacements=replacements,
            certification_path_certificates=tuple(body.certification_path),
            execution_date_time=(when.astimezone(timezone.utc).replace(microsecond=0)
                                 if when is not None else None)),
        signature=b"")
    return gbcs.encode(command)


def unsigned_part(payload: bytes) -> bytes:
    """A Pre-Command less its zero signature-length byte: what the signed command must start with."""
    return payload[:1 + len(gbcs.signed_data(payload))]


def alteration(issued: bytes, signed: bytes) -> str | None:
    """None when `signed` is the Pre-Command `issued` with a signature appended (0x40 and 64 bytes);
    else how it differs, in words."""
    base = unsigned_part(issued)
    try:
        state = gbcs.signature_state(signed)
    except gbcs.GbcsError as exc:
        return f"the GBCS payload is not a General Signing APDU: {exc}"
    if state != "present":
        return f"the GBCS command carries no signature (signature field {state})"
    if len(signed) != len(base) + SIGNATURE_FIELD or signed[len(base)] != SIGNATURE_FIELD - 1:
        return (f"the GBCS command is {len(signed)} bytes; the Pre-Command with its signature appended is "
                f"{len(base) + SIGNATURE_FIELD}")
    if signed[:len(base)] != base:
        at = next(i for i, (a, b) in enumerate(zip(signed, base)) if a != b)
        return f"the GBCS command differs from the Pre-Command issued under this RequestID at byte {at}"
    return None


@dataclass(frozen=True)
class Transform:
    """A Pre-Command the DSP issued: the transform request it answered, and the GBCS bytes."""
    request: messages.ServiceRequest
    pre_command: bytes
    issued_at: float         # time.monotonic()


class CriticalFlow:
    """The DSP's side of the DCC's own interface for one ReferenceDCC (`dcc.critical`)."""

    def __init__(self, dcc) -> None:
        self.dcc = dcc
        self._pending: dict[str, OrderedDict[str, Transform]] = {}
        """user -> RequestID -> the Pre-Command issued under it (oldest first)"""
        self._lock = threading.Lock()

    # --- the three endpoints --------------------------------------------------------------------

    def transform(self, xml: bytes) -> Verdict:
        """POST /api/v1/serviceT: a Critical request with Command Variant 4 -> I0 with its Pre-Command."""
        request = self._decode(xml, signed_pre_command=False)
        if isinstance(request, Verdict):
            return request
        if request.command_variant != 4:
            return self._refuse(request, codes.E13, f"the Transform Service takes Critical requests with Command "
                                                    f"Variant 4; Command Variant {request.command_variant} goes to "
                                                    f"the Send Command Service (/api/v1/serviceS)")
        admitted = self.dcc.dsp.admit(xml, request=request)
        if isinstance(admitted, Verdict):
            return admitted
        try:
            payload = pre_command(request)
        except gbcs.GbcsError as exc:
            return self._refuse(request, codes.E3, f"critical.transform: the request cannot be transformed into a "
                                                   f"GBCS command: {exc}")
        self._remember(str(request.request_id), Transform(request, payload, time.monotonic()))
        answer = self.dcc.sign_response(codec.encode_pre_command_response(
            request.request_id, request.srv, messages.PreCommand(GBCS_VERSION, payload), _now()))
        if self.dcc.config.defects and defects.active(self.dcc.config, "acknowledgements-published"):
            # DEFECT (tolerated): the Transform's answer also goes where outcomes go, as if it were one.
            self.dcc.outbox.publish_early(admitted.sender.user_id, str(request.request_id), answer)
        return Verdict(200, answer, codes.I0, None)

    def send_command(self, xml: bytes) -> Verdict:
        """POST /api/v1/serviceS: a Signed Pre-Command (Command Variant 5), or a device request with
        Command Variant 1-3 (as Target Interface v1's serviceRequest)."""
        request = self._decode(xml, signed_pre_command=True)
        if isinstance(request, Verdict):
            return request
        if isinstance(request.body, messages.SignedPreCommand):
            return self._signed_pre_command(request, xml)
        if request.command_variant == 4:
            return self._refuse(request, codes.E13, "a Critical request with Command Variant 4 goes to the Transform "
                                                    "Service (/api/v1/serviceT), which answers with its Pre-Command")
        if request.command_variant in cfg.CRITICAL_COMMAND_VARIANTS:
            return self._refuse(request, codes.E12, f"Command Variant {request.command_variant} carries a Signed "
                                                    "Pre-Command (Body/SignedPreCommand), not a request body")
        return self.dcc.handle_service_request(xml, request=request)

    def non_device(self, xml: bytes) -> Verdict:
        """POST /api/v1/serviceD: the reference offers no non-device Service Request."""
        request = self._decode(xml, signed_pre_command=True)
        if isinstance(request, Verdict):
            return request
        return self._refuse(request, codes.E13, f"SRV {request.srv} is a device request: the Non-Device Service "
                                                "takes none of the Service Requests this DCC offers; send it to "
                                                "/api/v1/serviceS (or, Critical with Command Variant 4, to "
                                                "/api/v1/serviceT)")

    # --- the Signed Pre-Command -----------------------------------------------------------------

    def _signed_pre_command(self, request: messages.ServiceRequest, xml: bytes) -> Verdict:
        rid = str(request.request_id)
        if request.command_variant != 5:
            return self._refuse(request, codes.E12, f"a Signed Pre-Command takes Command Variant 5 here; Command "
                                                    f"Variant {request.command_variant} (local delivery) is not "
                                                    "offered")
        issued = self._issued(rid)
        if issued is None:
            return self._refuse(request, codes.E1, f"critical.signed_pre_command: no Pre-Command awaits a signature "
                                                   f"under RequestID {rid} (never issued, used already, or expired): "
                                                   "a Signed Pre-Command carries the RequestID of its transform "
                                                   "request")
        if request.srv != issued.request.srv:
            return self._refuse(request, codes.E1, f"critical.signed_pre_command: Service Reference Variant "
                                                   f"{request.srv}, but the Pre-Command under {rid} was issued "
                                                   f"for {issued.request.srv}")
        original = replace(issued.request, command_variant=request.command_variant)
        admitted = self.dcc.dsp.admit(xml, request=original, skip=("dsp.originator_counter",))
        if isinstance(admitted, Verdict):
            return admitted          # e.g. E1: not signed by the user the Pre-Command was issued to
        problem = alteration(issued.pre_command, request.body.gbcs_payload)
        if problem:
            return self._refuse(request, codes.E1, f"critical.signed_pre_command: {problem}")
        with self._lock:
            if self._pending.get(_user(rid), {}).pop(rid, None) is None:
                return self._refuse(request, codes.E1, f"critical.signed_pre_command: the Pre-Command under {rid} "
                                                       "was used meanwhile")
        admitted.signed_pre_command = request.body.gbcs_payload
        return self.dcc.accept(admitted)

    # --- bookkeeping ----------------------------------------------------------------------------

    def _remember(self, rid: str, transform: Transform) -> None:
        with self._lock:
            mine = self._pending.setdefault(_user(rid), OrderedDict())
            mine.pop(rid, None)
            mine[rid] = transform
            while len(mine) > MAX_PENDING:
                mine.popitem(last=False)

    def _issued(self, rid: str) -> Transform | None:
        now = time.monotonic()
        with self._lock:
            mine = self._pending.get(_user(rid))
            while mine:
                oldest = next(iter(mine.values()))
                if now - oldest.issued_at <= PENDING_SECONDS:
                    break
                mine.popitem(last=False)
            return mine.get(rid) if mine else None

    def pending(self) -> int:
        """How many Pre-Commands await their signature."""
        with self._lock:
            return sum(len(mine) for mine in self._pending.values())

    def reset(self) -> None:
        with self._lock:
            self._pending.clear()

    # --- answers --------------------------------------------------------------------------------

    def _decode(self, xml: bytes, *, signed_pre_command: bool):
        try:
            return codec.decode_request(xml, signed_pre_command=signed_pre_command)
        except errors.UnsupportedServiceRequest as exc:
            return self.dcc.dsp._answer(400, None, codes.E1, f"unsupported Service Request: {exc}", srv=None)
        except errors.DuisError as exc:
            return self.dcc.dsp._answer(400, None, codes.E1, f"{type(exc).__name__}: {exc}", srv=None)

    def _refuse(self, request: messages.ServiceRequest, code: str, reason: str) -> Verdict:
        return self.dcc.dsp._answer(200, request, code, reason)


def _user(rid: str) -> str:
    """The Business Originator of a RequestID as the DSP wrote it (its canonical text)."""
    return rid.split(":", 1)[0]


def _now() -> datetime:
    return datetime.now(timezone.utc)
