"""Target profiles (adapters/profile.py): the shipped ones load, the cast takes the profile's users,
and every mistake is an error naming the file, the key, what was expected and what came."""
from __future__ import annotations

from pathlib import Path

import pytest

from adapters import profile as profiles
from adapters.device_pool import DevicePool
from adapters.profile import ProfileError
from adapters.world import Cast, SuppliedUser
from smki import TestSMKI

ROOT = Path(__file__).resolve().parents[1]
ZAZ1_SUPPLIER = "90-B3-D5-1F-30-01-00-00"
ZAZ1_OPERATOR = "90-B3-D5-1F-30-02-00-00"


@pytest.fixture(scope="module")
def smki():
    return TestSMKI.generate(name="ZP")


@pytest.fixture(scope="module")
def files(smki, tmp_path_factory):
    """Key and certificate files of one network operator, as a profile would name them."""
    folder = tmp_path_factory.mktemp("creds")
    user = smki.issue_user("90-B3-D5-1F-30-01-00-33", {"ED"})
    user.xml_signing.save(folder / "no.key", folder / "no.pem")
    (folder / "ds.pem").write_bytes(user.organisation.digital_signing.cert_pem())
    (folder / "ka.pem").write_bytes(user.organisation.key_agreement.cert_pem())
    (folder / "issuing.pem").write_bytes(smki.issuing.cert_pem())
    (folder / "root.pem").write_bytes(smki.root.cert_pem())
    other = smki.issue_user("90-B3-D5-1F-30-01-00-44", {"ED"})
    other.xml_signing.save(folder / "other.key", folder / "other.pem")
    return folder


def write(folder: Path, text: str) -> Path:
    path = folder / "target.toml"
    path.write_text(text)
    return path


USER = '''
[[users]]
user_id = "90-B3-D5-1F-30-01-00-33"
roles = ["ED"]
plays = [{ party = "wrong network operator", fuel = "electricity" }]
key = "no.key"
certificate = "no.pem"
'''


def test_the_reference_profile_loads():
    p = profiles.load(ROOT / "profiles" / "reference.toml")
    assert p.test_support is True and p.switches is True and p.dsp_certificate == profiles.FROM_TEST_SUPPORT
    assert p.base_url == "http://127.0.0.1:8800" and p.users == ()
    assert profiles.load(ROOT / "profiles" / "reference.toml", base_url="http://h:1/").base_url == "http://h:1"


def test_the_zaz1_profile_puts_the_public_zaz1_users_in_the_cast(shared_duis):
    p = profiles.load(ROOT / "profiles" / "zaz1.toml")
    cast = p.cast()
    for fuel in ("electricity", "gas"):
        supplier = cast.party("registered supplier", fuel)
        operator = cast.party("registered network operator", fuel)
        assert (supplier.user_id, operator.user_id) == (ZAZ1_SUPPLIER, ZAZ1_OPERATOR)
        assert supplier.supplied and operator.supplied
        zaz1_cert = (shared_duis / "smki" / "xml-sign-90B3D51F30010000-ds.pem").read_bytes()
        assert supplier.signer.cert.public_bytes(__import__("cryptography.hazmat.primitives.serialization",
                                                            fromlist=["Encoding"]).Encoding.PEM) == zaz1_cert
    # Organisation certificates from the harness SMKI, for the ZAZ1 Entity Identifier
    from smki import inspect
    ds, ka = cast.party("registered network operator", "gas").certificate_pair()
    assert inspect.entity_id(ds) == ZAZ1_OPERATOR and inspect.key_usage(ka) == "KeyAgreement"
    assert not cast.party("wrong network operator", "gas").supplied          # generated: loaded by test support
    users = {u.user_id: u for u in cast.fixture().users}
    assert users[ZAZ1_SUPPLIER].roles == frozenset({"IS", "GS"})            # one user, two parties, loaded once


def test_a_profile_with_its_own_smki_for_a_target_without_test_support(files):
    p = profiles.load(write(files, '''
[target]
base_url = "http://127.0.0.1:9000"
dsp_certificate = "issuing.pem"
[capabilities]
test_support = false
[smki]
certification_path = ["issuing.pem", "root.pem"]
[codes]
"E3" = "E4"
''' + USER + '''organisation = { digital_signing = "ds.pem", key_agreement = "ka.pem" }

[[devices]]
device_id = "00-db-00-00-00-00-00-01"
type = "ESME"
s1sp = "S1SP1"
mpxn = "1234567890123"
registered_supplier = "90-B3-D5-1F-30-01-00-01"
registered_network_operator = "90-B3-D5-1F-30-01-00-03"
'''))
    assert p.test_support is False and p.map_code("E3") == "E4" and p.map_code("I0") == "I0"
    assert p.devices[0].device_id == "00-DB-00-00-00-00-00-01" and p.devices[0].fuel == "electricity"
    cast = p.cast()
    party = cast.party("wrong network operator", "electricity")
    assert party.supplied and party.certificate_pair() == p.users[0].organisation_pair
    assert cast.certification_path() == p.certification_path


@pytest.mark.parametrize("text, fragments", [
    ("[target\nname = 1", ["expected TOML"]),
    ("[tiemouts]\nconnect = 1", ["top level", "unknown key 'tiemouts'", "timeouts"]),
    ("[timeouts]\nconnect = -1", ["[timeouts].connect", "positive number of seconds", "-1"]),
    ("[timeouts]\nread = \"slow\"", ["[timeouts].read", "positive number"]),
    ("[target]\nbase_url = \"ftp://x\"", ["[target].base_url", "http://"]),
    ("[target]\ndsp_certificate = \"missing.pem\"", ["[target].dsp_certificate", "existing file", "missing.pem"]),
    ("[target]\ndsp_certificate = \"no.key\"", ["[target].dsp_certificate", "X.509 certificate"]),
    ("[capabilities]\ntest_support = \"yes\"", ["[capabilities].test_support", 'true or false or "auto"']),
    ("[capabilities]\ntest_support = false\nswitches = true", ["switches = true needs test_support"]),
    ("[capabilities]\ntest_support = false\n[target]\ndsp_certificate = \"from-test-support\"",
     ["from-test-support", "needs test_support"]),
    ("[callbacks]\nmode = \"carrier pigeon\"", ["[callbacks].mode", '"push" or "poll"']),
    ("[callbacks]\nlisten = \"localhost\"", ["[callbacks].listen", "host:port"]),
    ("[codes]\nE3 = 4", ["[codes]", "SPEC code"]),
    (USER.replace('"ED"', '"XX"'), ["[[users]] 90-B3-D5-1F-30-01-00-33.roles", "user roles"]),
    (USER.replace('["ED"]', '["GT"]'), ["roles", "role ED to play the wrong network operator (electricity)"]),
    (USER.replace('"wrong network operator"', '"the boss"'), ["plays[0].party", "one of"]),
    (USER.replace(', fuel = "electricity"', ""), ["plays[0].fuel", "electricity"]),
    (USER.replace("no.key", "other.key"), [".key", "EC private key of no.pem"]),
    (USER.replace("no.key", "other.key").replace("no.pem", "other.pem"),
     [".certificate", "XML-signing certificate of 90-B3-D5-1F-30-01-00-33", "90-B3-D5-1F-30-01-00-44"]),
    (USER.replace("no.key", "gone.key"), ["gone.key", "no such file"]),
    (USER + 'organisation = { digital_signing = "ka.pem", key_agreement = "ka.pem" }',
     ["organisation.digital_signing", "DigitalSigning Organisation certificate", "KeyAgreement"]),
    (USER + USER.replace("90-B3-D5-1F-30-01-00-33", "90-B3-D5-1F-30-01-00-44").replace("no.", "other."),
     ["already played by 90-B3-D5-1F-30-01-00-33"]),
    ("[capabilities]\ntest_support = false\n" + USER, ["Organisation certificates", "without test support"]),
    ("[capabilities]\ntest_support = false\n" + USER.replace('"no.key"', '"generate"'),
     ['key = "generate" needs test support']),
    ("[[devices]]\ndevice_id = \"00-DB-00-00-00-00-00-01\"\ntype = \"ESME\"\nmpxn = \"1\"\n"
     "registered_supplier = \"90-B3-D5-1F-30-01-00-01\"\nregistered_network_operator = \"90-B3-D5-1F-30-01-00-03\"",
     ["[[devices]] 00-DB-00-00-00-00-00-01.s1sp", "S1SP serving this SMETS1 device"]),
    ("[[devices]]\ndevice_id = \"00-DB\"", ["[[devices]] #1.device_id", "EUI-64"]),
])
def test_profile_mistakes_are_explained(files, text, fragments):
    path = write(files, text)
    with pytest.raises(ProfileError) as excinfo:
        profiles.load(path)
    message = str(excinfo.value)
    assert message.startswith(str(path)), message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_a_missing_profile_file(tmp_path):
    with pytest.raises(ProfileError, match="no such file"):
        profiles.load(tmp_path / "nowhere.toml")


def test_cast_overrides_check_roles_and_parties(smki):
    cred = smki.issue_user("90-B3-D5-1F-30-01-00-55", {"IS"}).xml_signing
    with pytest.raises(ValueError, match="needs user role ED"):
        Cast(smki, {("electricity", "registered network operator"): SuppliedUser("90-B3-D5-1F-30-01-00-55",
                                                                                 frozenset({"IS"}), cred)})
    with pytest.raises(ValueError, match="no party"):
        Cast(smki, {("oil", "registered supplier"): SuppliedUser("90-B3-D5-1F-30-01-00-55", frozenset({"IS"}), cred)})


def test_device_pool_gives_each_device_once_and_only_if_it_fits():
    cast = Cast()
    supplier = cast.party("registered supplier", "gas").user_id
    operator = cast.party("registered network operator", "gas").user_id
    device = profiles.ProfileDevice("00-DB-00-00-00-00-00-07", "GPF", 1, "S1SP2", "1234567890", "Commissioned",
                                    supplier, operator)
    pool = DevicePool((device,))
    wanted = dict(fuel="gas", smets=1, s1sp="S1SP2", device_type="GPF", status="Commissioned")
    assert pool.take(cast, **{**wanted, "s1sp": "S1SP1"}) is None
    setup = pool.take(cast, **wanted)
    assert setup.device.device_id == device.device_id and setup.registration.network_operator_id == operator
    assert setup.fixture.devices == [] and pool.take(cast, **wanted) is None
    assert DevicePool.wanted(cast, **wanted).startswith("unused SMETS1 GPF of S1SP2 with SMI status Commissioned")


def test_polls_back_off_from_poll_interval_to_poll_interval_max():
    """A slow target's outcome (seconds after its acknowledgement) costs a handful of polls, not one every
    poll_interval: each pause is half as long again as the last, up to poll_interval_max."""
    from itertools import islice

    pauses = list(islice(profiles.Callbacks(poll_interval=0.05, poll_interval_max=0.2).poll_pauses(), 6))
    assert pauses == pytest.approx([0.05, 0.075, 0.1125, 0.16875, 0.2, 0.2])
    # a first pause above the cap is kept as it is (the cap never shortens what the profile asked for)
    assert list(islice(profiles.Callbacks(poll_interval=2.0, poll_interval_max=1.0).poll_pauses(), 3)) == [2.0] * 3
    # by default they back off to 1 s (bench/README.md, "polling"); poll_interval_max = poll_interval: a fixed pace
    assert profiles.Callbacks().poll_interval_max == 1.0
    assert list(islice(profiles.Callbacks(poll_interval=0.05, poll_interval_max=0.05).poll_pauses(), 3)) == [0.05] * 3


def test_poll_interval_max_is_read_from_the_profile(files):
    p = profiles.load(write(files, '''
[target]
base_url = "http://127.0.0.1:9000"
[callbacks]
poll_interval = 0.05
poll_interval_max = 0.5
'''))
    assert (p.callbacks.poll_interval, p.callbacks.poll_interval_max) == (0.05, 0.5)
    with pytest.raises(ProfileError, match="poll_interval_max"):
        profiles.load(write(files, '[target]\nbase_url = "http://127.0.0.1:9000"\n[callbacks]\npoll_interval_max = 0\n'))
