"""Bodies of the Service Requests the suite sends, built from the cast's certificates."""
from __future__ import annotations

from duis import messages


def update_security_credentials(role: str, pair: tuple[bytes, bytes], path: tuple[bytes, ...],
                                *, time_checks: bool = True) -> messages.UpdateSecurityCredentialsKRP:
    """SRV 6.15.1: replace the `role` slot with `pair` (digital signing, key agreement)."""
    return messages.UpdateSecurityCredentialsKRP(
        remote_party_role=role, floor_seq=0, replacement=messages.CertificatePair(*pair),
        certification_path=tuple(path), apply_time_based_cpv_checks=time_checks)


def handover(pair: tuple[bytes, bytes], path: tuple[bytes, ...], *, role: str = "NetworkOperator",
             time_checks: bool = True) -> messages.RequestHandoverOfDCCControlledDevice:
    """SRV 6.21: a Supplier places certificates in the `role` slot (how a wrong NO certificate arrives)."""
    return messages.RequestHandoverOfDCCControlledDevice(
        remote_party_role=role, floor_seq=0, replacement=messages.CertificatePair(*pair),
        certification_path=tuple(path), apply_time_based_cpv_checks=time_checks)


def retrieve_security_credentials(*roles: str) -> messages.RetrieveDeviceSecurityCredentialsKRP:
    """SRV 6.24.1: read back which certificates the device holds for `roles`."""
    return messages.RetrieveDeviceSecurityCredentialsKRP(remote_party_roles=tuple(roles))
