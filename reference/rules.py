"""SPEC §4, one named rule each, so that each can be tested alone and deliberately broken.

A *check* returns a `Rejection` (code + reason) or None. An *exemption* returns True when it
applies. `ReferenceConfig.broken` names rules to break: a broken check never rejects; a broken
exemption never applies. `ReferenceConfig.defects` switches on realistic mistakes
(reference/defects.py): their code is guarded by `defects.active(ctx.config, NAME)` beside the rule
it spoils. The DSP runs `DSP_CHECKS` in order; the S1SP and the SMETS2 device run
theirs. Where to find a rule: its name is its place, e.g. `s1sp.ownership` is `s1sp_ownership`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from cryptography import x509

from smki import inspect as cert_inspect

from . import codes, config as cfg, defects
from .anchor_slots import slot_owner
from .inventory import Device
from .registration import Registration
from .users import NETWORK_OPERATOR_ROLES, User


@dataclass(frozen=True)
class Rejection:
    code: str
    rule: str
    reason: str


@dataclass
class Context:
    """What a rule may look at. Filled in as the pipeline goes."""
    request: object                      # duis.messages.ServiceRequest
    xml: bytes
    config: cfg.ReferenceConfig
    sender: User | None = None
    acting_role: str | None = None
    device: Device | None = None
    registration: Registration | None = None
    slot: dict | None = None             # the anchor slot being replaced (6.15.1), if known
    trust_anchors: list = field(default_factory=list)
    s1sp_implemented: bool = True
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    originator_counters: object | None = None   # the DSP's dsp.OriginatorCounters (dsp.originator_counter)
    known_users: Callable[[], list] | None = None
    """Every User the DSP knows. Read only by the defect originator-not-bound-to-signer."""
    former_owners: frozenset[str] = frozenset()
    """Earlier owners of the slot being replaced. Read only by the defect s1sp-remembers-previous-owner."""
    signed_pre_command: bytes | None = None
    """The DCC's own interface (reference/critical.py): the GBCS command the user signed with its
    Organisation digital-signing key and sent with Command Variant 5, when the request arrived that
    way. Then the ownership checks (s1sp.ownership, smets2.ownership) verify its signature with the
    digital-signing certificate in the slot being replaced; on Target Interface v1 (None) they
    compare the sender's User ID with the slot owner's Entity Identifier."""

    @property
    def srv(self) -> str:
        return self.request.srv

    @property
    def body(self):
        return self.request.body


CHECKS: dict[str, Callable[[Context], Rejection | None]] = {}
EXEMPTIONS: dict[str, Callable[[Context], bool]] = {}


def check(name: str):
    def register(fn):
        CHECKS[name] = fn
        fn.rule_name = name
        return fn
    return register


def exemption(name: str):
    def register(fn):
        EXEMPTIONS[name] = fn
        fn.rule_name = name
        return fn
    return register


def run_check(name: str, ctx: Context) -> Rejection | None:
    if name in ctx.config.broken:
        return None
    return CHECKS[name](ctx)


def exempt(name: str, ctx: Context) -> bool:
    if name in ctx.config.broken:
        return False
    return EXEMPTIONS[name](ctx)


def all_rule_names() -> list[str]:
    return sorted([*CHECKS, *EXEMPTIONS])


# --- DSP ------------------------------------------------------------------------------------

@check("dsp.known_user")
def dsp_known_user(ctx: Context) -> Rejection | None:
    if ctx.sender is None:
        return Rejection(codes.E1, "dsp.known_user",
                         f"BusinessOriginatorID {ctx.request.request_id.originator} is not a known DCC User")
    return None


@check("dsp.signature")
def dsp_signature(ctx: Context) -> Rejection | None:
    from duis import errors, signing
    if defects.active(ctx.config, "signature-not-verified"):
        # DEFECT: a signature that is there is taken for one that verifies.
        if signing.has_signature(ctx.xml):
            return None
        return Rejection(codes.E1, "dsp.signature", "the request carries no XML signature")
    certificate = ctx.sender.xml_signing_certificate
    if defects.active(ctx.config, "originator-not-bound-to-signer"):
        # DEFECT: verified with the known certificate the signature's KeyInfo names, whoever it belongs to.
        certificate = _certificate_named_by_signature(ctx) or certificate
    try:
        signing.verify(ctx.xml, certificate)
    except errors.SignatureInvalid as exc:
        return Rejection(codes.E1, "dsp.signature",
                         f"signature does not verify against the XML-signing certificate of "
                         f"{ctx.sender.user_id}: {exc}")
    return None


def _certificate_named_by_signature(ctx: Context):
    """(Defect originator-not-bound-to-signer.) The XML-signing certificate of any known user that
    the signature's KeyInfo/X509IssuerSerial names, or None."""
    from duis import errors, signing
    try:
        issuer, serial = signing.signer_issuer_serial(ctx.xml)
    except errors.DuisError:
        return None
    for user in (ctx.known_users() if ctx.known_users else ()):
        if signing.issuer_serial_matches(user.xml_signing_certificate, issuer, serial):
            return user.xml_signing_certificate
    return None


@check("dsp.originator_counter")
def dsp_originator_counter(ctx: Context) -> Rejection | None:
    """MP107-R4.3: the OriginatorCounter must be greater than the last one the DSP accepted from this
    sender (per user, for the life of the DCC; a test-support reset forgets them). Runs after the
    signature check, so a forged request cannot use up a user's counters; a request that passes it
    has used its counter up, whatever a later check says (sent again, it is a replay)."""
    counter = ctx.request.request_id.counter
    # DEFECT replay-accepted: compared with >= instead of >, so the very same request passes again.
    equal_ok = defects.active(ctx.config, "replay-accepted")
    last = ctx.originator_counters.take(ctx.sender.user_id, counter, equal_ok=equal_ok)
    if last is not None:
        return Rejection(codes.E1, "dsp.originator_counter",
                         f"OriginatorCounter {counter} is not greater than {last}, the last one accepted from "
                         f"{ctx.sender.user_id}: a replayed or older request")
    return None


@check("dsp.role_access")
def dsp_role_access(ctx: Context) -> Rejection | None:
    permitted = ctx.config.access.get(ctx.srv, frozenset())
    if ctx.srv == "6.15.1" and defects.active(ctx.config, "dsp-export-supplier-may-send"):
        permitted = permitted | {"ES", "OU"}     # DEFECT: the access table lists every role for 6.15.1
    roles = sorted(ctx.sender.roles & permitted)
    if not roles:
        return Rejection(codes.E2, "dsp.role_access",
                         f"user {ctx.sender.user_id} holds roles {sorted(ctx.sender.roles)}; "
                         f"SRV {ctx.srv} may be sent by {sorted(permitted)}")
    ctx.acting_role = roles[0]
    return None


@check("dsp.command_variant")
def dsp_command_variant(ctx: Context) -> Rejection | None:
    allowed = cfg.DEFAULT_COMMAND_VARIANTS.get(ctx.srv, frozenset())
    if ctx.request.command_variant not in allowed:
        return Rejection(codes.E12, "dsp.command_variant",
                         f"Command Variant {ctx.request.command_variant} is not valid for SRV {ctx.srv}; "
                         f"expected one of {sorted(allowed)}")
    return None


@check("dsp.device_exists")
def dsp_device_exists(ctx: Context) -> Rejection | None:
    if ctx.device is None:
        return Rejection(codes.E19, "dsp.device_exists",
                         f"device {ctx.request.request_id.target} is not in the Smart Metering Inventory")
    return None


@check("dsp.device_status")
def dsp_device_status(ctx: Context) -> Rejection | None:
    if ctx.device.status not in cfg.STATUSES_FOR_SRV:
        return Rejection(codes.E5, "dsp.device_status",
                         f"device {ctx.device.device_id} has SMI status {ctx.device.status}; "
                         f"SRV {ctx.srv} needs one of {sorted(cfg.STATUSES_FOR_SRV)}")
    return None


@check("dsp.device_type")
def dsp_device_type(ctx: Context) -> Rejection | None:
    allowed = cfg.DEVICE_TYPES_FOR_SRV.get(ctx.srv, frozenset())
    if ctx.device.device_type not in allowed:
        return Rejection(codes.E11, "dsp.device_type",
                         f"SRV {ctx.srv} cannot target a {ctx.device.device_type}; expected one of {sorted(allowed)}")
    return None


def _fuel_role(ctx: Context) -> str | None:
    """The sender's role that fits the device's fuel (IS/ED electricity, GS/GT gas)."""
    fitting = {"electricity": ("IS", "ED"), "gas": ("GS", "GT")}[ctx.device.fuel]
    permitted = ctx.config.access.get(ctx.srv, frozenset())
    for role in fitting:
        if role in ctx.sender.roles and role in permitted:
            return role
    return None


def registration_data_problem(ctx: Context) -> str | None:
    """SRPD 6.1(f): is the sender registered, in its role, for the device's MPAN/MPRN?"""
    role = _fuel_role(ctx)
    if role is None:
        return (f"user {ctx.sender.user_id} ({sorted(ctx.sender.roles)}) holds no role for a "
                f"{ctx.device.fuel} supply")
    ctx.acting_role = role
    if ctx.registration is None:
        return f"no Registration Data for {ctx.device.mpxn} (device {ctx.device.device_id})"
    registered = ctx.registration.registered_for(role)
    if registered != ctx.sender.user_id:
        return (f"{ctx.device.mpxn}: registered {role} is {registered}, "
                f"not the sender {ctx.sender.user_id}")
    return None


@exemption("dsp.rdp_exemption.smets2_critical")
def dsp_exemption_smets2_critical(ctx: Context) -> bool:
    """Critical Service Requests to SMETS2 devices have no Registration Data check."""
    return ctx.device.smets == 2 and ctx.request.command_variant in cfg.CRITICAL_COMMAND_VARIANTS


def _is_6_2_d(ctx: Context) -> bool:
    """SRPD 6.2(d) as drafted by SECMP0107: SMETS1, SRV 6.15.1, sent by an ED or GT, replacing
    NetworkOperator credentials."""
    return (ctx.device.smets == 1 and ctx.srv == "6.15.1"
            and bool(ctx.sender.roles & NETWORK_OPERATOR_ROLES)
            and _fuel_role(ctx) in NETWORK_OPERATOR_ROLES
            and getattr(ctx.body, "remote_party_role", None) == "NetworkOperator")


@exemption("dsp.rdp_exemption.6_2_d")
def dsp_exemption_6_2_d(ctx: Context) -> bool:
    """MP107 at the DSP: 6.2(d) applies only with the feature switch on."""
    if ctx.config.defects:
        mistaken = _dsp_exemption_as_mistaken(ctx)
        if mistaken is not None:
            return mistaken
    return ctx.config.mp107_switch and _is_6_2_d(ctx)


def _dsp_exemption_as_mistaken(ctx: Context) -> bool | None:
    """6.2(d) as a DSP team might have got it wrong (reference/defects.py); None: no such defect on."""
    switch = ctx.config.mp107_switch
    if defects.active(ctx.config, "dsp-exemption-ignores-switch"):
        switch = True                    # the switch is read nowhere
    if defects.active(ctx.config, "dsp-exemption-gt-only"):
        return switch and _is_6_2_d(ctx) and _fuel_role(ctx) == "GT"
    if defects.active(ctx.config, "dsp-exemption-ed-only"):
        return switch and _is_6_2_d(ctx) and _fuel_role(ctx) == "ED"
    if defects.active(ctx.config, "dsp-exemption-every-srv"):
        # any SRV from a Network Operator to SMETS1, not just 6.15.1 on the NetworkOperator slot
        return switch and ctx.device.smets == 1 and _fuel_role(ctx) in NETWORK_OPERATOR_ROLES
    if defects.active(ctx.config, "dsp-exemption-suppliers-too"):
        # every 6.15.1 to SMETS1, whoever sends it
        return switch and ctx.device.smets == 1 and ctx.srv == "6.15.1"
    if defects.active(ctx.config, "dsp-exemption-ignores-switch"):
        return switch and _is_6_2_d(ctx)
    return None


@check("dsp.registration_data")
def dsp_registration_data(ctx: Context) -> Rejection | None:
    if ctx.srv == "6.21" and defects.active(ctx.config, "dsp-no-rdp-check-for-6.21"):
        return None                      # DEFECT: 6.21 taken for a change-of-supplier request, left unchecked
    if exempt("dsp.rdp_exemption.smets2_critical", ctx) or exempt("dsp.rdp_exemption.6_2_d", ctx):
        return None
    problem = registration_data_problem(ctx)
    if problem:
        return Rejection(codes.E4, "dsp.registration_data", problem)
    return None


ROLE_FAMILY = {"IS": "Supplier", "GS": "Supplier", "ES": "Supplier", "ED": "NetworkOperator", "GT": "NetworkOperator"}


@check("dsp.remote_party_role")
def dsp_remote_party_role(ctx: Context) -> Rejection | None:
    """MP107-R1.12: a 6.15.1 may replace only the sender's own role family's slot. GBCS has CS02b
    for supplierBySupplier and networkOperatorByNetworkOperator (among others), none for a
    Supplier replacing the NetworkOperator slot, so the DSP cannot transform such a request: E3.
    Runs after the Registration Data check, so an unregistered Supplier still gets E4 (R1.7)."""
    if ctx.srv != "6.15.1":
        return None
    target = ctx.body.remote_party_role
    role = ctx.acting_role or next(iter(sorted(ctx.sender.roles)), None)
    family = ROLE_FAMILY.get(role)
    if family != "NetworkOperator" and defects.active(ctx.config, "dsp-supplier-may-replace-no-slot"):
        return None                      # DEFECT: only Network Operators are kept out of the other slot
    if family != target:
        return Rejection(codes.E3, "dsp.remote_party_role",
                         f"a {role or 'sender without a role'} cannot replace the {target} slot: GBCS has no CS02b "
                         f"use case {target[0].lower() + target[1:]}By{family or 'Nobody'}")
    return None


DSP_CHECKS = (
    "dsp.known_user", "dsp.signature", "dsp.originator_counter", "dsp.role_access", "dsp.command_variant",
    "dsp.device_exists", "dsp.device_status", "dsp.device_type", "dsp.registration_data",
    "dsp.remote_party_role",
)


# --- S1SP -----------------------------------------------------------------------------------

@exemption("s1sp.rdp_exemption.6_2_d")
def s1sp_exemption_6_2_d(ctx: Context) -> bool:
    """MP107 at an S1SP: only if that S1SP has implemented the change."""
    return ctx.s1sp_implemented and _is_6_2_d(ctx)


@check("s1sp.registration_data")
def s1sp_registration_data(ctx: Context) -> Rejection | None:
    if exempt("s1sp.rdp_exemption.6_2_d", ctx):
        return None
    problem = registration_data_problem(ctx)
    if problem:
        return Rejection(codes.S1VE4, "s1sp.registration_data", problem)
    return None


def gbcs_signature_problem(ctx: Context) -> str | None:
    """SPEC §5, the DCC interface dialect: does the signed Pre-Command's GBCS signature verify with
    the digital-signing certificate in the slot being replaced? None if it does; else why not. This is
    what makes only the holder of that certificate's key (the Known Remote Party) able to replace it."""
    import gbcs
    role, device = ctx.body.remote_party_role, ctx.device.device_id
    held = (ctx.slot or {}).get("DigitalSigning")
    if held is None:
        return f"the {role} slot of {device} holds no digital-signing certificate to verify the GBCS command with"
    try:
        verified = gbcs.verify(ctx.signed_pre_command, x509.load_der_x509_certificate(held.der))
    except (gbcs.GbcsError, ValueError) as exc:
        return f"the signed GBCS command cannot be verified: {type(exc).__name__}: {exc}"
    if not verified:
        return (f"the GBCS command's signature does not verify with the digital-signing certificate in the {role} "
                f"slot of {device} (serial {held.serial}, owner {held.entity_id})")
    return None


@check("s1sp.ownership")
def s1sp_ownership(ctx: Context) -> Rejection | None:
    """S1SR 4.2: the Business Originator ID must be the Entity Identifier of the certificate in
    the slot being replaced. On the DCC's own interface (a signed Pre-Command), as a real S1SP does
    it: the GBCS command's signature must verify with the digital-signing certificate in that slot."""
    if ctx.signed_pre_command is not None:
        problem = gbcs_signature_problem(ctx)
        return Rejection(codes.S1VE64, "s1sp.ownership", problem) if problem else None
    owner = slot_owner(ctx.slot)
    if defects.active(ctx.config, "s1sp-ownership-by-registration"):
        # DEFECT: the owner is taken to be whoever Registration Data names, not the slot's KRP.
        owner = ctx.registration.registered_for(_fuel_role(ctx) or "") if ctx.registration else None
    if owner != ctx.sender.user_id:
        if ctx.sender.user_id in ctx.former_owners and defects.active(ctx.config, "s1sp-remembers-previous-owner"):
            return None                  # DEFECT: an earlier owner of the slot is still authorised
        return Rejection(codes.S1VE64, "s1sp.ownership",
                         f"{ctx.body.remote_party_role} slot of {ctx.device.device_id} holds the credentials of "
                         f"{owner or 'nobody'}, not of the sender {ctx.sender.user_id}")
    return None


def replacement_problems(ctx: Context, *, as_claimed: bool = False) -> list[str]:
    """`as_claimed` (the defect s1sp-accepts-any-role-or-usage): each certificate is validated for the
    role and key usage it claims itself, not for the slot's role and the usage it is put in."""
    body = ctx.body
    role = body.remote_party_role
    if role not in cert_inspect.ORGANISATION_ROLE_CODES:     # 6.21 may name any DUIS RemotePartyRole
        return [f"RemotePartyRole {role}: the reference holds Organisation certificates only for the "
                f"{' and '.join(sorted(cert_inspect.ORGANISATION_ROLE_CODES))} slots"]
    problems: list[str] = []
    entity_ids = set()
    for usage, der in (("DigitalSigning", body.replacement.digital_signing),
                       ("KeyAgreement", body.replacement.key_agreement)):
        if der is None:         # DUIS lets either be absent; the reference replaces a slot's pair as a whole
            problems.append(f"{usage} certificate missing: the reference replaces both certificates of a slot")
            continue
        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError as exc:
            problems.append(f"{usage} certificate is not a DER X.509 certificate: {exc}")
            continue
        try:
            entity_ids.add(cert_inspect.entity_id(cert))
        except ValueError:
            pass      # no Entity Identifier: validate_organisation_certificate reports it below (MP107-R4.2)
        try:
            expected_role, expected_usage = _claimed(cert, role, usage) if as_claimed else (role, usage)
            problems += [f"{usage} certificate: {p}" for p in cert_inspect.validate_organisation_certificate(
                cert, expected_role=expected_role, expected_usage=expected_usage, trust=ctx.trust_anchors,
                at=ctx.now, time_checks=body.apply_time_based_cpv_checks)]
        except Exception as exc:  # parsed lazily: e.g. duplicate extensions, a key type cryptography lacks
            problems.append(f"{usage} certificate cannot be read as an Organisation certificate: "
                            f"{type(exc).__name__}: {exc}")
    if len(entity_ids) > 1:
        problems.append(f"the two certificates belong to different organisations: {sorted(entity_ids)}")
    return problems


def _claimed(cert, role: str, usage: str) -> tuple[str, str]:
    """(Defect s1sp-accepts-any-role-or-usage.) The role and key usage `cert` claims, where it claims
    one the validator knows; else the slot's."""
    roles_by_code = {code: name for name, code in cert_inspect.ORGANISATION_ROLE_CODES.items()}
    try:
        role = roles_by_code.get(cert_inspect.role_code(cert), role)
    except ValueError:
        pass
    claimed_usage = cert_inspect.key_usage(cert)
    return role, claimed_usage if claimed_usage in cert_inspect.USAGES else usage


def _certificates_rejection(ctx: Context, code: str, rule: str, *, as_claimed: bool = False) -> Rejection | None:
    problems = replacement_problems(ctx, as_claimed=as_claimed)
    return Rejection(code, rule, "; ".join(problems)) if problems else None


@check("s1sp.replacement_certificates")
def s1sp_replacement_certificates(ctx: Context) -> Rejection | None:
    return _certificates_rejection(ctx, codes.S1VE_INVALID_CERTIFICATE, "s1sp.replacement_certificates",
                                   as_claimed=defects.active(ctx.config, "s1sp-accepts-any-role-or-usage"))


S1SP_CHECKS = {
    "6.15.1": ("s1sp.registration_data", "s1sp.ownership", "s1sp.replacement_certificates"),
    "6.21": ("s1sp.registration_data", "s1sp.replacement_certificates"),
    "6.24.1": ("s1sp.registration_data",),
}


# --- SMETS2 device --------------------------------------------------------------------------

@check("smets2.ownership")
def smets2_ownership(ctx: Context) -> Rejection | None:
    """A SMETS2 device only executes a command authenticated by the Known Remote Party in the slot: on
    the DCC's own interface (a signed Pre-Command), one whose GBCS signature verifies with the
    digital-signing certificate in the slot; on Target Interface v1, one whose sender owns it."""
    if ctx.signed_pre_command is not None:
        problem = gbcs_signature_problem(ctx)
        return (Rejection(codes.E_SMETS2_DEVICE_REJECTED, "smets2.ownership", f"SMETS2 device {ctx.device.device_id}: "
                          f"{problem}") if problem else None)
    owner = slot_owner(ctx.slot)
    if owner != ctx.sender.user_id:
        return Rejection(codes.E_SMETS2_DEVICE_REJECTED, "smets2.ownership",
                         f"SMETS2 device {ctx.device.device_id}: {ctx.body.remote_party_role} slot belongs to "
                         f"{owner or 'nobody'}, not to {ctx.sender.user_id}")
    return None


@check("smets2.replacement_certificates")
def smets2_replacement_certificates(ctx: Context) -> Rejection | None:
    return _certificates_rejection(ctx, codes.E_SMETS2_DEVICE_REJECTED, "smets2.replacement_certificates")


SMETS2_CHECKS = {
    "6.15.1": ("smets2.ownership", "smets2.replacement_certificates"),
    "6.21": ("smets2.replacement_certificates",),
    "6.24.1": (),
}
