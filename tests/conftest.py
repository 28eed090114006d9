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
def _postgresql_for_the_data_fix_tests():
    """Without $MP107_PG_URL, start a throwaway loopback PostgreSQL (scripts/start-postgres.sh, Debian's
    server binaries) for this session and stop it afterwards, so that the data-fix tests run on both
    databases on a fresh machine. One per xdist worker (its own port and data folder). Without the
    binaries nothing starts, and those tests skip (or fail under MP107_REQUIRE_PG=1) saying why."""
    import glob
    import shutil
    import socket
    import subprocess
    if os.environ.get("MP107_PG_URL") or not glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"):
        yield
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    import tempfile             # not under pytest's basetemp: the server's own user must reach it
    data = Path(tempfile.gettempdir()) / f"mp107-pg-{os.getpid()}-{port}"
    env = {**os.environ, "MP107_PG_PORT": str(port), "MP107_PG_DATA": str(data), "MP107_PG_SHARED_BUFFERS": "128MB"}
    script = Path(__file__).resolve().parents[1] / "scripts" / "start-postgres.sh"
    proc = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        yield                   # the tests then skip or fail with the usual reason; say why here too
        print(f"\nnote: could not start a throwaway PostgreSQL: {proc.stderr.strip()[-500:]}")
        return
    os.environ["MP107_PG_URL"] = proc.stdout.strip()
    try:
        yield
    finally:
        subprocess.run(["bash", str(script), "stop"], env=env, capture_output=True, text=True, timeout=120)
        os.environ.pop("MP107_PG_URL", None)
        shutil.rmtree(data, ignore_errors=True)
        Path(f"{data}.initdb.log").unlink(missing_ok=True)


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


@pytest.fixture(scope="session")
def dcc_tools():
    """The DCC's own tools (adapters/dcc_tools: the signing tool's jar through java, duis-parser through
    node), installed by scripts/install-deps.sh. Missing: the test skips saying what is missing, or
    fails where CI requires them (MP107_REQUIRE_DCC_TOOLS=1)."""
    from adapters.dcc_tools import REQUIRE_ENV, DccTools, ToolsMissing
    try:
        return DccTools.find()
    except ToolsMissing as exc:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but {exc}")
        pytest.skip(str(exc))
