"""The census generator (reference/census.py, describing what it builds with reference/census_spec.py):
an S1SP database shaped like LIVE, with the FIA's census of wrong Network Operator certificates (FIA
4.2.2) hidden among correct devices."""
from __future__ import annotations


import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from reference.__main__ import main as cli
from reference.census import generate, parse_cells
from reference.census_spec import FIA_CENSUS, GAS_TRANSPORTERS, CensusSpec, mpan, network_operators
from reference.datafix import DatabaseError, DatabaseURL, connect
from reference.datafix.evidence import database_digests
from reference.datafix.scratch import CensusCopies, pg_server_url

S1SP_TABLES = ("device", "anchor_slot", "registration", "no_certificate")
SMALL = CensusSpec(devices=2_500, seed=5,
                   wrong={("IOC", "ESME"): 30, ("IOC", "GPF"): 60, ("MOC", "ESME"): 4, ("MOC", "GPF"): 40},
                   unregistered={("IOC", "ESME"): 2}, missing_repo={("IOC", "GPF"): 2, ("MOC", "ESME"): 1})
FIA = CensusSpec(devices=40_000, seed=107)


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    c = CensusCopies(tmp_path_factory.mktemp("census"), pg_server_url(), prefix="mp107_cstest")
    yield c
    c.cleanup()




def counts_by_python(db) -> dict:
    """(cohort, type) -> wrong devices, from the rows themselves."""
    reg = dict(db.query("SELECT mpxn, network_operator_id FROM registration"))
    owners: dict = {}
    for device_id, entity in db.query("SELECT device_id, entity_id FROM anchor_slot "
                                      "WHERE remote_party_role = 'NetworkOperator'"):
        owners.setdefault(device_id, []).append(entity)
    out: dict = {}
    for device_id, dtype, smets, mpxn, cohort in db.query("SELECT device_id, device_type, smets, mpxn, cohort FROM device"):
        if smets == 1 and dtype in ("ESME", "GPF") and device_id in owners:
            if any(o != reg.get(mpxn) for o in owners[device_id]):
                out[(cohort, dtype)] = out.get((cohort, dtype), 0) + 1
    return out


def test_fia_default_census(copies, dialect):
    url, result = copies.template(dialect, FIA)
    with connect(url) as db:
        assert db.scalar("SELECT count(*) FROM device") == 40_000
        assert counts_by_python(db) == {k: v for k, v in FIA_CENSUS.items() if v}
        assert sum(FIA_CENSUS.values()) == 29_280 == len(result.wrong_ids)
        # the repository: 14 electricity distributors and 8 gas transporters, a pair each
        repo = db.query("SELECT entity_id, usage FROM no_certificate")
        assert len(repo) == 44 and len({e for e, _ in repo}) == 22
        eds, gts = network_operators()
        assert (len(eds), len(gts)) == (14, len(GAS_TRANSPORTERS)) == (14, 8)
        assert {e for e, _ in repo} == {o.entity_id for o in eds + gts}
        # around them: Supplier slots, SMETS2, GSMEs and CHFs, decoys, correct devices
        kinds = dict(((t, s), n) for t, s, n in db.query(
            "SELECT device_type, smets, count(*) FROM device GROUP BY device_type, smets"))
        assert all(kinds.get(k, 0) > 0 for k in [("ESME", 1), ("GPF", 1), ("GSME", 1), ("CHF", 1), ("ESME", 2)])
        assert db.scalar("SELECT count(*) FROM anchor_slot WHERE remote_party_role = 'Supplier'") > 1_000
        assert len(result.decoy_ids) == (40_000 - 29_280) // 100
        assert db.scalar("SELECT count(DISTINCT cohort) FROM device") == 3


def test_unfixable_devices_and_scaled_counts(copies):
    url, result = copies.template("sqlite", SMALL)
    with connect(url) as db:
        got = counts_by_python(db)
        assert got == {("IOC", "ESME"): 32, ("IOC", "GPF"): 62, ("MOC", "ESME"): 5, ("MOC", "GPF"): 40}
        assert len(result.unregistered_ids) == 2 and len(result.missing_repo_ids) == 3
        # the half-published gas transporter has a DigitalSigning certificate but no KeyAgreement one
        assert db.scalar("SELECT count(*) FROM no_certificate") == 45
        mpxns = dict(db.query("SELECT device_id, mpxn FROM device"))
        assert {mpxns[d] is None for d in result.unregistered_ids} == {True, False}


def test_same_seed_same_database_and_both_dialects_agree(copies, dialect, tmp_path):
    url, _ = copies.template(dialect, SMALL)
    with connect(url) as db:
        first = database_digests(db, S1SP_TABLES)
    again = DatabaseURL("sqlite", str(tmp_path / "again.db"))
    with connect(again, mode="rwc") as db:
        generate(db, SMALL)
        assert database_digests(db, S1SP_TABLES) == first
    other = DatabaseURL("sqlite", str(tmp_path / "other.db"))
    with connect(other, mode="rwc") as db:
        generate(db, CensusSpec(**{**SMALL.__dict__, "seed": 6}))
        assert database_digests(db, S1SP_TABLES)["anchor_slot"] != first["anchor_slot"]


def test_certificates_are_real_zaz1_shaped_x509(copies):
    url, _ = copies.template("sqlite", SMALL)
    with connect(url) as db:
        rows = db.query("SELECT DISTINCT entity_id, usage, certificate_serial, certificate, remote_party_role "
                        "FROM anchor_slot") + [r + ("NetworkOperator",) for r in db.query(
                            "SELECT entity_id, usage, certificate_serial, certificate FROM no_certificate")]
    assert len({r[3] for r in rows}) >= 44
    for entity, usage, serial, der, role in rows:
        cert = x509.load_der_x509_certificate(der)
        assert isinstance(cert.public_key().curve, ec.SECP256R1)
        assert format(cert.serial_number, "x") == serial
        ou = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value
        assert ou == ("03" if role == "NetworkOperator" else "02")
        uid = cert.subject.get_attributes_for_oid(NameOID.X500_UNIQUE_IDENTIFIER)[0].value
        assert uid == b"\x00" + bytes.fromhex(entity.replace("-", ""))  # BIT STRING, 0 unused bits
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        assert (ku.digital_signature, ku.key_agreement) == (usage == "DigitalSigning", usage == "KeyAgreement")
        assert cert.issuer.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "07"


def test_registration_data_is_consistent(copies):
    url, _ = copies.template("sqlite", SMALL)
    eds, _ = network_operators()
    ed_by_id = {o.entity_id: o.distributor_id for o in eds}
    with connect(url) as db:
        for mpxn, fuel, no in db.query("SELECT mpxn, fuel, network_operator_id FROM registration"):
            if fuel == "electricity":
                assert len(mpxn) == 13 and mpan(int(mpxn[:2]), int(mpxn[2:12])) == mpxn
                if no in ed_by_id:
                    assert int(mpxn[:2]) == ed_by_id[no]
            else:
                assert len(mpxn) == 10
        assert db.scalar("SELECT count(*) FROM device WHERE device_type = 'CHF' AND mpxn IS NOT NULL") == 0


def test_one_cohort_per_database(tmp_path):
    url = DatabaseURL("sqlite", str(tmp_path / "moc.db"))
    with connect(url, mode="rwc") as db:
        result = generate(db, CensusSpec(devices=2_000, cohorts=("MOC",)))
        assert db.query("SELECT DISTINCT cohort FROM device") == [("MOC",)]
        assert counts_by_python(db) == {("MOC", "ESME"): 125, ("MOC", "GPF"): 1_226}
        assert len(result.wrong_ids) == 1_351


def test_refuses_too_few_devices_and_a_non_empty_database(tmp_path):
    url = DatabaseURL("sqlite", str(tmp_path / "x.db"))
    with connect(url, mode="rwc") as db:
        with pytest.raises(ValueError, match="too few"):
            generate(db, CensusSpec(devices=29_279))
        generate(db, CensusSpec(devices=10, wrong={("IOC", "ESME"): 1}))
        with pytest.raises(DatabaseError, match="already holds 10 devices"):
            generate(db, CensusSpec(devices=10, wrong={}))


def test_parse_cells():
    assert parse_cells("IOC/ESME=90,moc/gpf=122") == {("IOC", "ESME"): 90, ("MOC", "GPF"): 122}
    assert parse_cells("3", cohorts=("IOC", "MOC")) == {("IOC", "ESME"): 1, ("IOC", "GPF"): 1, ("MOC", "ESME"): 1}
    with pytest.raises(ValueError):
        parse_cells("IOC/CHF=1")


def test_cli_census_one_database_per_cohort(tmp_path, capsys):
    argv = ["census", "--db", f"sqlite:///{tmp_path}/s1sp-{{cohort}}.db", "--devices", "1500", "--seed", "3",
            "--wrong", "IOC/ESME=9,IOC/GPF=18,MOC/ESME=1,MOC/GPF=12", "--unregistered", "2"]
    assert cli(argv) == 0
    out = capsys.readouterr().out
    for cohort, wrong in (("ioc", 27), ("moc", 13), ("foc", 0)):
        with connect(str(tmp_path / f"s1sp-{cohort}.db")) as db:
            assert db.query("SELECT DISTINCT cohort FROM device") == [(cohort.upper(),)]
            assert sum(counts_by_python(db).values()) == wrong + 2
    assert "IOC    GPF" in out


def test_cli_census_errors_exit_2(tmp_path, capsys):
    assert cli(["census", "--db", f"sqlite:///{tmp_path}/a.db", "--devices", "100"]) == 2
    assert "too few" in capsys.readouterr().err
    assert cli(["census", "--db", "oracle://x", "--devices", "100"]) == 2
