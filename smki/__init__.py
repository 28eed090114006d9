"""The harness's test SMKI (ZAZ1-shaped, ECDSA P-256) and certificate inspection helpers."""

from .ca import (
    SMKI_POLICY_OID,
    USER_ROLE_TO_REMOTE_PARTY,
    Credential,
    OrganisationCredentials,
    TestSMKI,
    UserCredentials,
    remote_party_role_for,
)
from .inspect import (
    DIGITAL_SIGNING,
    KEY_AGREEMENT,
    ORGANISATION_ROLE_CODES,
    ROLE_CODE_DSP_XML_SIGNING,
    ROLE_CODE_ISSUING_CA,
    ROLE_CODE_ROOT_CA,
    ROLE_CODE_XML_SIGNING,
    entity_id,
    is_expired,
    key_usage,
    role_code,
    serial_hex,
    sha1_hex,
    validate_organisation_certificate,
    verify_chain,
)
from .names import entity_identifier_attribute, printable_attribute

__all__ = [
    "SMKI_POLICY_OID", "USER_ROLE_TO_REMOTE_PARTY", "Credential", "OrganisationCredentials",
    "TestSMKI", "UserCredentials", "remote_party_role_for",
    "DIGITAL_SIGNING", "KEY_AGREEMENT", "ORGANISATION_ROLE_CODES", "ROLE_CODE_DSP_XML_SIGNING",
    "ROLE_CODE_ISSUING_CA", "ROLE_CODE_ROOT_CA", "ROLE_CODE_XML_SIGNING",
    "entity_id", "is_expired", "key_usage", "role_code", "serial_hex", "sha1_hex",
    "validate_organisation_certificate", "verify_chain",
    "entity_identifier_attribute", "printable_attribute",
]
