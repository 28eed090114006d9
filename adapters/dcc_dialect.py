"""The DCC's own interface, from the DCC User's side (SPEC §5 "The DCC interface dialect"; a
profile's `[target] dialect = "dcc"`).

HttpTarget speaks Target Interface v1 (one endpoint; the target completes a Critical request) unless
its profile says `dcc`; then each signed DUIS request the suite submits takes the way DCC Boxed
expects, and this module decides it:

- a Critical request with Command Variant 4 (SRV 6.15.1) is the whole round trip: POST it to
  /api/v1/serviceT (Transform); the DSP answers I0 with a Pre-Command (the GBCS command, base64);
  sign that with the sender's Organisation digital-signing key (gbcs.sign: drop a zero
  signature-length byte, ECDSA P-256 over the bytes after the DF tag, 0x40 and r||s); put it in a
  Command Variant 5 request under the *same RequestID*, with the ServiceReference[Variant] of the
  Pre-Command answer, XML-signed by the sender's XML-signing key; POST that to /api/v1/serviceS. The
  acknowledgement the suite sees is the last leg's answer (the transform's, when it refused);
- anything else (Command Variant 1-3, and input the harness cannot read as a DUIS request: the
  hostile inputs of MP107-R4.2) goes to /api/v1/serviceS as it is.

So the features do not change: "sends SRV 6.15.1" means the whole round trip. Every leg is kept on
the acknowledgement (`Acknowledgement.legs`): the XML both ways and the GBCS command decoded
(gbcs.describe), which the exchange's evidence shows.

The keys: the XML-signing Signer of each user (HttpTarget.register_signer, as for Target Interface
v1.1) and the Organisation digital-signing private key (register_organisation_key; the suite gives
every party's before the first scenario: the harness SMKI's, or a profile's `organisation_key`).

A `Spoil` sends the round trip wrong in one way on purpose (features/requirement4_critical_flow.feature):
the Pre-Command signed with another key, altered before or after signing, or sent back under
another RequestID.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import gbcs
from duis import codec, errors, messages, signing
from duis.types import RequestID

from .target import Acknowledgement, Leg, TargetFault


DIALECTS = ("v1", "dcc")
TRANSFORM = "/api/v1/serviceT"
SEND_COMMAND = "/api/v1/serviceS"
NON_DEVICE = "/api/v1/serviceD"
TRANSFORM_CV = 4
SIGNED_PRE_COMMAND_CV = 5


@dataclass(frozen=True)
class Spoil:
    """One deliberate deviation from the correct round trip."""
    description: str
    organisation_key: object = None
    """sign the Pre-Command with this private key instead of the sender's Organisation key"""
    alter: Callable[[bytes], bytes] | None = None
    """applied to the Pre-Command before it is signed (the user signs a command the DSP did not issue)"""
    after_signing: Callable[[bytes], bytes] | None = None
    """applied to the signed command (it no longer is what was signed)"""
    request_id: str | None = None
    """send the Signed Pre-Command under this RequestID instead of the transform request's"""


def describe_gbcs(payload: bytes, key=None) -> dict:
    """gbcs.describe, or {"error": why} for a payload it cannot read (evidence never raises)."""
    try:
        return gbcs.describe(payload, key)
    except gbcs.GbcsError as exc:
        return {"error": f"{type(exc).__name__}: {exc}", "length": len(payload)}


def readable(xml: bytes) -> messages.ServiceRequest | None:
    """The request as the harness's codec reads it (a Signed Pre-Command included), or None."""
    try:
        return codec.decode_request(xml, signed_pre_command=True)
    except (errors.DuisError, ValueError):
        return None


class DccDialect:
    """The round trips of one HttpTarget (`target.dialect`) whose profile says `dialect = "dcc"`."""

    def __init__(self, target) -> None:
        self.target = target
        self._signers: dict[str, signing.Signer] = {}
        self._organisation_keys: dict[str, object] = {}

    # --- keys ---------------------------------------------------------------------------------

    def register_signer(self, user_id: str, signer) -> None:
        """The user's XML-signing Signer (key and certificate), which signs its Command Variant 5 requests."""
        if getattr(signer, "cert", None) is not None:
            self._signers[user_id] = signer

    def register_organisation_key(self, user_id: str, key) -> None:
        """The private key of the user's Organisation digital-signing certificate: signs its Pre-Commands."""
        if key is not None:
            self._organisation_keys[user_id] = key

    # --- the way a request takes --------------------------------------------------------------

    def submit(self, request_id: str, xml: bytes, *, spoil: Spoil | None = None) -> Acknowledgement:
        request = readable(xml)
        if request is None or request.command_variant != TRANSFORM_CV:
            return self._leg("Send Command", SEND_COMMAND, request_id, xml)
        return self._critical(request_id, request, xml, spoil)

    def _leg(self, name: str, path: str, request_id: str, xml: bytes, *, gbcs_payload: bytes | None = None,
             signed_with: str | None = None, earlier: tuple[Leg, ...] = ()) -> Acknowledgement:
        ack = self.target.submit_to(path, request_id, xml)
        described = describe_gbcs(gbcs_payload) if gbcs_payload is not None else None
        if described is not None and signed_with:
            described["signed_with"] = signed_with
        leg = Leg(name, self.target.base_url + path, request_id, xml, ack.http_status, ack.xml, ack.code, described)
        return dataclasses.replace(ack, legs=(*earlier, leg))

    def _critical(self, request_id: str, request: messages.ServiceRequest, xml: bytes,
                  spoil: Spoil | None) -> Acknowledgement:
        transform = self._leg(f"transform (Command Variant {TRANSFORM_CV})", TRANSFORM, request_id, xml)
        answer = transform.response
        if answer is None or answer.response_code != "I0":
            return transform                     # refused: that is the DSP's answer
        where = f"{request_id}: POST {self.target.base_url}{TRANSFORM}"
        if answer.pre_command is None:
            raise TargetFault(f"{where}: I0 without a Pre-Command (Body/ResponseMessage/PreCommand)")
        pre_command = answer.pre_command.gbcs_payload
        transform = dataclasses.replace(transform, legs=(dataclasses.replace(
            transform.legs[0], gbcs=describe_gbcs(pre_command)),))
        sender = request_id.split(":")[0]
        key = spoil.organisation_key if spoil is not None and spoil.organisation_key is not None else \
            self._organisation_keys.get(sender)
        if key is None:
            raise TargetFault(f"{where}: cannot sign the Pre-Command: no Organisation digital-signing key for "
                              f"{sender} (the profile's [[users]] organisation_key, for a user whose Organisation "
                              "certificates it names)")
        signer = self._signers.get(sender)
        if signer is None:
            raise TargetFault(f"{where}: cannot send the Signed Pre-Command: no XML-signing key and certificate "
                              f"registered for {sender}")
        payload = spoil.alter(pre_command) if spoil is not None and spoil.alter is not None else pre_command
        try:
            signed = gbcs.sign(payload, key)
        except gbcs.GbcsError as exc:
            raise TargetFault(f"{where}: the Pre-Command cannot be signed as a General Signing APDU: "
                              f"{type(exc).__name__}: {exc}") from None
        if spoil is not None and spoil.after_signing is not None:
            signed = spoil.after_signing(signed)
        rid = spoil.request_id if spoil is not None and spoil.request_id else request_id
        srv = answer.srv or request.srv
        command = messages.ServiceRequest(RequestID.parse(rid), SIGNED_PRE_COMMAND_CV, srv,
                                          messages.SignedPreCommand(signed))
        command_xml = signing.sign(codec.encode_request(command), signer)
        name = f"Signed Pre-Command (Command Variant {SIGNED_PRE_COMMAND_CV})"
        signed_with = f"the Organisation digital-signing key of {sender}"
        if spoil is not None:
            name += f", {spoil.description}"
            if spoil.organisation_key is not None:
                signed_with = f"another key than {sender}'s ({spoil.description})"
        return self._leg(name, SEND_COMMAND, rid, command_xml, gbcs_payload=signed, signed_with=signed_with,
                         earlier=transform.legs)


# --- spoiled round trips and the Pre-Command's content (features/requirement4_critical_flow.feature) ----

def signed_with_another_key(key, whose: str) -> Spoil:
    """The Pre-Command signed with `key` (someone else's Organisation key) instead of the sender's."""
    return Spoil(f"its Pre-Command signed with {whose}'s Organisation key", organisation_key=key)


def carrying(pair: tuple[bytes, bytes], whose: str) -> Spoil:
    """The Pre-Command altered before signing: its replacement certificates swapped for `pair`
    (digital signing, key agreement), then signed by the sender's own key. A validly signed command
    the DSP did not issue."""
    def alter(pre_command: bytes) -> bytes:
        message = gbcs.decode(pre_command)
        if not isinstance(message, gbcs.Cs02bCommand):
            raise TargetFault(f"the Pre-Command is not a CS02b command to alter ({describe_gbcs(pre_command)})")
        by_usage = {gbcs.KeyUsage.DIGITAL_SIGNATURE: pair[0], gbcs.KeyUsage.KEY_AGREEMENT: pair[1]}
        replacements = tuple(dataclasses.replace(r, certificate=by_usage.get(r.target.key_usage, r.certificate))
                             for r in message.body.replacements)
        return gbcs.encode(dataclasses.replace(message, body=dataclasses.replace(message.body,
                                                                                  replacements=replacements)))
    return Spoil(f"its Pre-Command altered before signing to carry {whose}'s certificates", alter=alter)


def altered_after_signing() -> Spoil:
    """The signed command with one bit of its content flipped (the last byte before the signature)."""
    def flip(signed: bytes) -> bytes:
        at = len(signed) - 1 - 64 - 1
        return signed[:at] + bytes([signed[at] ^ 0x01]) + signed[at + 1:]
    return Spoil("its Signed Pre-Command altered after signing", after_signing=flip)


def under_request_id(request_id: str) -> Spoil:
    """The Signed Pre-Command sent back under `request_id`, not the transform request's."""
    return Spoil(f"its Signed Pre-Command sent under another RequestID ({request_id})", request_id=request_id)


def issued_pre_command(legs) -> bytes | None:
    """The Pre-Command the transform leg's answer carried (None: no transform, or none in its answer)."""
    for leg in legs:
        if leg.name.startswith("transform"):
            try:
                answer = codec.decode_response(leg.answer)
            except (errors.DuisError, ValueError):
                return None
            return answer.pre_command.gbcs_payload if answer.pre_command is not None else None
    return None


def pre_command_problems(payload: bytes, *, sender: str, device: str, counter: int, role: str,
                         pair: tuple[bytes, bytes]) -> list[str]:
    """How a 6.15.1's Pre-Command differs from the CS02b command the request asks for: message code
    (supplierBySupplier 0x0102, networkOperatorByNetworkOperator 0x0103), a command (CRA flag 1) from
    the sender to the device with the RequestID's counter, not yet signed, and the two certificates in
    the `role` cells for digital signing and key agreement. [] when it is that command."""
    expected_code = {"Supplier": 0x0102, "NetworkOperator": gbcs.MESSAGE_CODE_NETWORK_OPERATOR_BY_NETWORK_OPERATOR}
    expected_role = {"Supplier": gbcs.RemotePartyRole.SUPPLIER, "NetworkOperator": gbcs.RemotePartyRole.NETWORK_OPERATOR}
    try:
        message = gbcs.decode(payload)
    except gbcs.GbcsError as exc:
        return [f"not a GBCS message the harness can read: {exc}"]
    if not isinstance(message, gbcs.Cs02bCommand):
        return [f"not a CS02b command: message code 0x{message.header.message_code:04X}, CRA flag "
                f"{int(message.header.cra_flag)}"]
    h, problems = message.header, []
    if h.message_code != expected_code[role]:
        problems.append(f"message code 0x{h.message_code:04X}, not 0x{expected_code[role]:04X} "
                        f"({gbcs.MESSAGE_CODES[expected_code[role]]})")
    if gbcs.eui64_text(h.originator_system_title) != sender:
        problems.append(f"Originator System Title {gbcs.eui64_text(h.originator_system_title)}, not the sender {sender}")
    if gbcs.eui64_text(h.recipient_system_title) != device:
        problems.append(f"Recipient System Title {gbcs.eui64_text(h.recipient_system_title)}, not the device {device}")
    if h.originator_counter != counter:
        problems.append(f"Originator Counter {h.originator_counter}, not the RequestID's {counter}")
    if message.signature:
        problems.append("already signed")
    cells = {(r.target.remote_party_role, r.target.key_usage): r.certificate for r in message.body.replacements}
    for usage, der, name in ((gbcs.KeyUsage.DIGITAL_SIGNATURE, pair[0], "digital signing"),
                             (gbcs.KeyUsage.KEY_AGREEMENT, pair[1], "key agreement")):
        if cells.get((expected_role[role], usage)) != der:
            problems.append(f"the {role} {name} cell does not get the requested {name} certificate")
    return problems
