"""Fixtures for the unit tests under tests/ (the DUIS test vectors live outside the repo)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DUIS = Path(__file__).resolve().parents[2] / "shared" / "duis"


@pytest.fixture(scope="session")
def shared_duis() -> Path:
    """The shared DUIS test vectors (schema/, samples/, smki/), read in place, never copied."""
    if not SHARED_DUIS.is_dir():
        pytest.skip(f"DUIS test vectors not found at {SHARED_DUIS} (the ../shared/duis folder beside the repo)")
    return SHARED_DUIS


@pytest.fixture(scope="session", autouse=True)
def _duis_schema_dir_from_shared():
    """Point DUIS_SCHEMA_DIR at ../shared/duis/schema unless it is already set (e.g. by --duis-xsd)."""
    if "DUIS_SCHEMA_DIR" not in os.environ and (SHARED_DUIS / "schema").is_dir():
        os.environ["DUIS_SCHEMA_DIR"] = str(SHARED_DUIS / "schema")
    yield


@pytest.fixture(scope="session")
def make_xml_signer():
    """A factory of throw-away XML signers (P-256 key, self-signed certificate) for DSP/S1SP roles."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from duis.signing import Signer

    def make(cn: str = "test"):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "07"),
                          x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        now = dt.datetime.now(dt.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365))
                .sign(key, hashes.SHA256()))
        return Signer(key, cert)

    return make


def need_postgresql() -> None:
    """Skip a PostgreSQL test with the reason, or fail it where CI requires a server (MP107_REQUIRE_PG=1)."""
    from reference.datafix.scratch import PG_REQUIRE_ENV, PG_SKIP_REASON, pg_server_url
    if pg_server_url() is None:
        if os.environ.get(PG_REQUIRE_ENV) == "1":
            pytest.fail(f"{PG_REQUIRE_ENV}=1 but {PG_SKIP_REASON}")
        pytest.skip(PG_SKIP_REASON)


@pytest.fixture(params=["sqlite", "postgresql"])
def dialect(request):
    """Each data-fix test on both databases."""
    if request.param == "postgresql":
        need_postgresql()
    return request.param
