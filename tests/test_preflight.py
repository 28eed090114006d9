"""The scenario preamble and postamble (steps/preflight.py), without a target: the statement rules a
scenario out (*not applicable*, with the words of its reason), a profile device is surveyed before use
and rejected when it holds something else, and the postamble puts a device back or says why it could
not. A fake state, cast, client and pool stand in for the harness's; each records what preflight asked
of it. The words of every reason are pinned: the report shows them to the target's owner."""
from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace as NS

import pytest

from adapters.statement import DatafixStatement, S1SPStatement, Statement
from adapters.target import Capability, TargetState
from adapters.world import PARTIES, ROLELESS_PARTIES
from steps import preflight

SRC = "dcc.toml [statement]"
ALL = frozenset(Capability)
SUPPLIER_PAIR = {"DigitalSigning": ("SUP", "aa"), "KeyAgreement": ("SUP", "ab")}
OPERATOR_PAIR = {"DigitalSigning": ("NO", "ba"), "KeyAgreement": ("NO", "bb")}


def statement(**kw) -> Statement:
    kw.setdefault("s1sps", {f"S1SP{n}": S1SPStatement(True, True) for n in (1, 2, 3)})
    kw.setdefault("feature_switch", True)
    return Statement(source=SRC, **kw)


class Party:
    def __init__(self, label, fuel):
        self.label, self.fuel = label, fuel
        self.user_id, self.signer = f"user:{label}:{fuel}", f"signer:{label}"

    def slot_entries(self):
        return {"registered supplier": SUPPLIER_PAIR, "registered network operator": OPERATOR_PAIR}.get(
            self.label, {"DigitalSigning": ("OTHER", "00"), "KeyAgreement": ("OTHER", "01")})

    def certificate_pair(self):
        return (b"ds:" + self.label.encode(), b"ka:" + self.label.encode())


class Cast:
    """As the harness's cast: a party of PARTIES exists per fuel only; an unknown label is an error."""

    def party(self, label, fuel):
        if label not in PARTIES and label not in ROLELESS_PARTIES:
            raise KeyError(f"no party {label!r}")
        if label in PARTIES and fuel not in ("electricity", "gas"):
            raise KeyError(f"no party {label!r} for fuel {fuel!r}")
        return Party(label, fuel)

    def certification_path(self):
        return (b"path",)


def credentials(supplier=SUPPLIER_PAIR, operator=OPERATOR_PAIR):
    return [NS(role=role, usage=usage, remote_party_id=entity, certificate_hash=sha.upper())
            for role, pair in (("Supplier", supplier), ("NetworkOperator", operator))
            for usage, (entity, sha) in pair.items()]


def exchange(ack="I99", outcome="I0", creds=None, final=None):
    out = None if outcome is None else NS(code=outcome, response=NS(credentials=creds if creds is not None else credentials()))
    return NS(ack=NS(code=ack), outcome=out, final_code=final or outcome or ack)


class Client:
    def __init__(self, *answers):
        self.answers, self.sent = list(answers), []

    def build(self, user_id, device_id, srv, body):
        return (user_id, device_id, srv, body)

    def send(self, signer, request, description):
        self.sent.append((signer, request, description))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class Pool:
    def __init__(self, *setups):
        self.setups, self.calls = list(setups), []

    def take(self, cast, **spec):
        assert isinstance(cast, Cast), cast          # the pool matches devices to the cast's parties
        self.calls.append(("take", spec))
        return self.setups.pop(0) if self.setups else None

    def wanted(self, cast, **spec):
        assert isinstance(cast, Cast), cast
        return f"wanted {sorted(spec.items())}"

    def reject(self, device_id, holds):
        self.calls.append(("reject", device_id, holds))

    def record(self, device_id, outcome, detail="", scenario=""):
        self.calls.append(("record", device_id, outcome, detail, scenario))

    def give_back(self, device_id):
        self.calls.append(("give_back", device_id))


def setup(device_id="D1", status="Commissioned", device_type="ESME", smets=1, fuel="electricity"):
    return NS(device=NS(device_id=device_id, status=status, device_type=device_type, smets=smets), fuel=fuel)


@dataclass
class State:
    statement: Statement = field(default_factory=statement)
    caps: frozenset = ALL
    device_pool: object = None
    client: Client = field(default_factory=Client)
    cast: Cast = field(default_factory=Cast)
    tags: tuple = ()
    planned_fuel: str | None = None
    needs_switch: bool | None = None
    reserved: object = None
    changed_slots: bool = False
    asked: list = field(default_factory=list)
    target: object = field(default_factory=lambda: NS(name="dcc-x"))

    def can(self, capability):
        return capability in self.caps

    def party(self, label):
        self.asked.append((label, self.planned_fuel))


def scenario(*steps):
    return NS(steps=[NS(name=s) for s in steps])


def check(state, scen, tags=("MP107-R1.4",)) -> None:
    """preflight.check for a scenario that must go ahead: a skip here fails the test (pytest would
    otherwise report the test itself as skipped, and a wrong 'not applicable' would pass unnoticed)."""
    try:
        preflight.check(state, scen, list(tags))
    except pytest.skip.Exception as exc:
        pytest.fail(f"the scenario was skipped: {exc.msg}")


def not_applicable(state, *steps) -> str:
    with pytest.raises(pytest.skip.Exception) as caught:
        preflight.check(state, scenario(*steps), ["MP107-R1.4"])
    reason = str(caught.value.msg)
    assert reason.startswith("not applicable: "), reason
    return reason.removeprefix("not applicable: ")


# --- which scenarios have the target alone when workers share it (runs_alone) ----------------------------
# The reason is the one a broken scenario shows when its wait for the target timed out (adapters/leases.py).

def alone(*steps, caps=ALL, switch=False, implemented=None, applied=False):
    baseline = TargetState(switch, {"S1SP1": True, "S1SP2": False} if implemented is None else implemented)
    state = State(statement=statement(datafix=DatafixStatement(applied=applied, runnable=True)), caps=caps)
    return preflight.runs_alone(state, scenario(*steps), baseline)


@pytest.mark.parametrize("switch, setting, reason", [
    (False, "on", "it sets the DSP feature switch on"), (False, "off", None),
    (True, "off", "it sets the DSP feature switch off"), (True, "on", None),
    (None, "on", "it sets the DSP feature switch on"),          # the target's setting unknown: alone either way
    (None, "off", "it sets the DSP feature switch off")])
def test_setting_the_switch_away_from_the_targets_state_runs_alone(switch, setting, reason):
    assert alone(f"the DSP feature switch is {setting}", switch=switch) == reason


@pytest.mark.parametrize("step, reason", [
    ("S1SP1 has not implemented MP107", "it sets S1SP1 not implemented"),
    ("S1SP1 has implemented MP107", None),
    ("S1SP2 has implemented MP107", "it sets S1SP2 implemented"),
    ("S1SP2 has not implemented MP107", None),
    ("S1SP3 has implemented MP107", "it sets S1SP3 implemented"),        # not in the target's state: unknown,
    ("S1SP3 has not implemented MP107", "it sets S1SP3 not implemented")])  # so alone either way
def test_setting_an_s1sps_flag_away_from_the_targets_state_runs_alone(step, reason):
    assert alone(step) == reason


@pytest.mark.parametrize("step", ["the DSP feature switch is on", "S1SP2 has implemented MP107",
                                  "S1SP1 has not implemented MP107"])
def test_switches_the_harness_cannot_set_are_the_statements_and_shared(step):
    assert alone(step, caps=ALL - {Capability.SWITCHES}) is None
    assert alone(step) is not None


@pytest.mark.parametrize("step", ["the DCC runs the data fix on the database of S1SP2",
                                  "the DCC runs the data fix as a dry run on the database of S1SP2"])
def test_running_the_data_fix_runs_alone_where_the_harness_can(step):
    assert alone(step) == "it runs the data fix on the database of S1SP2"
    assert alone(step, caps=ALL - {Capability.DATAFIX}) is None


def test_staging_the_data_fix_runs_alone_only_where_the_harness_stages_it():
    step = "the DCC's operator has applied the data fix"
    assert alone(step) == "it stages the data fix"
    assert alone(step, applied=True) is None                            # the target's own: nothing staged
    assert alone(step, caps=ALL - {Capability.PROVISION}) is None
    assert alone(step, caps=ALL - {Capability.DATAFIX}) is None


def test_any_step_of_the_scenario_may_make_it_run_alone_and_others_share():
    assert alone("the DSP feature switch is off", "S1SP1 has implemented MP107", "S1SP2 has not implemented MP107",
                 "the DCC's operator has applied the data fix") == "it stages the data fix"
    assert alone("the DSP feature switch is off", "S1SP2 has implemented MP107") == "it sets S1SP2 implemented"
    assert alone("the DSP feature switch is off", "the DCC's operator has applied the data fix", applied=True) is None
    assert alone("the DSP feature switch is onward", "S1SP2 has implemented MP107 twice",
                 "the DCC runs the data fix on the database of S1SP2 now") is None     # whole steps only


# --- the statement rules a scenario out -----------------------------------------------------------------

def test_check_records_the_tags_and_passes_a_scenario_the_statement_allows():
    state = State()
    check(state, scenario("the DSP feature switch is on", "S1SP1 has implemented MP107"), ["A", "B"])
    assert state.tags == ("A", "B") and state.needs_switch is True and state.reserved is None


def test_the_switch_as_deployed_rules_out_the_other_setting_unless_the_harness_can_set_it():
    off = State(statement=statement(feature_switch=False), caps=frozenset())
    assert not_applicable(off, "the DSP feature switch is on") == (
        'needs the DSP feature switch on; [statement] feature_switch = "off" (dcc.toml [statement])')
    assert off.needs_switch is True
    settable = State(statement=statement(feature_switch=False), caps=frozenset({Capability.SWITCHES}))
    check(settable, scenario("the DSP feature switch is on"), [])
    on = State(statement=statement(feature_switch=True), caps=frozenset())
    check(on, scenario("the DSP feature switch is on"), [])
    assert not_applicable(on, "the DSP feature switch is off").startswith("needs the DSP feature switch off")
    assert on.needs_switch is False


def test_an_s1sp_implementing_mp107_or_not_as_the_statement_says():
    st = statement(s1sps={"S1SP1": S1SPStatement(True, True), "S1SP2": S1SPStatement(False, True)})
    state = State(statement=st, caps=frozenset())
    check(state, scenario("S1SP1 has implemented MP107", "S1SP2 has not implemented MP107"), [])
    assert not_applicable(state, "S1SP2 has implemented MP107") == (
        "needs S1SP2 to have implemented MP107; [statement.s1sps.S1SP2] implements_mp107 = false (dcc.toml [statement])")
    assert not_applicable(state, "S1SP1 has not implemented MP107").startswith("needs S1SP1 not to have")
    check(State(statement=st, caps=frozenset({Capability.SWITCHES})),
                    scenario("S1SP2 has implemented MP107"), [])


def test_the_dcc_interface_scenarios_need_a_target_speaking_it():
    assert not_applicable(State(), "the target speaks the DCC's own interface").startswith(
        "needs a target that speaks the DCC's own interface")
    check(State(statement=statement(dialect="dcc")), scenario("the target speaks the DCC's own interface"), [])


@pytest.mark.parametrize("step", ["the DCC runs the data fix on the database of S1SP2",
                                  "the DCC runs the data fix as a dry run on the database of S1SP2"])
def test_running_the_data_fix_needs_the_harness_to_be_able_to(step):
    assert not_applicable(State(caps=ALL - {Capability.DATAFIX}), step) == (
        "the harness cannot run the data fix on this target: [statement.datafix] runnable = false "
        "(dcc.toml [statement])")
    check(State(), scenario(step), [])


def test_an_applied_data_fix_is_staged_by_the_harness_or_declared_with_its_devices():
    step = "the DCC's operator has applied the data fix"
    check(State(), scenario(step), [])                         # staged: provision + data fix
    for caps in (ALL - {Capability.PROVISION}, ALL - {Capability.DATAFIX}):
        assert not_applicable(State(caps=caps), step) == (
            "the statement does not declare the data fix applied: [statement.datafix] applied = false "
            "(dcc.toml [statement])")
    applied = statement(datafix=DatafixStatement(applied=True))
    for caps in (ALL, frozenset()):
        assert not_applicable(State(statement=applied, caps=caps), step) == (
            "the statement lists no device the data fix was to fix or leave alone (dcc.toml [statement])")
    for fix in (DatafixStatement(applied=True, fixed_devices=("D",)), DatafixStatement(applied=True, control_devices=("C",))):
        check(State(statement=statement(datafix=fix), caps=frozenset()), scenario(step), [])


def test_a_staged_data_fix_does_not_end_the_checks_of_the_steps_after_it():
    state = State(statement=statement(feature_switch=False), caps=frozenset({Capability.PROVISION, Capability.DATAFIX}))
    assert not_applicable(state, "the DCC's operator has applied the data fix", "the DSP feature switch is on") == (
        'needs the DSP feature switch on; [statement] feature_switch = "off" (dcc.toml [statement])')


# --- the device a scenario needs -----------------------------------------------------------------------------

DEVICE_STEPS = [
    ("a commissioned SMETS1 device of S1SP2 supplying gas",
     dict(fuel="gas", smets=1, s1sp="S1SP2", device_type="GPF", status="Commissioned")),
    ("a commissioned SMETS2 device supplying electricity",
     dict(fuel="electricity", smets=2, s1sp=None, device_type="ESME", status="Commissioned")),
    ("a SMETS1 device of S1SP3 supplying electricity and SMI status Suspended",
     dict(fuel="electricity", smets=1, s1sp="S1SP3", device_type="ESME", status="Suspended")),
    ("a commissioned SMETS1 communications hub of S1SP1 supplying gas",
     dict(fuel="gas", smets=1, s1sp="S1SP1", device_type="CHF", status="Commissioned")),
]


@pytest.mark.parametrize("step, spec", DEVICE_STEPS)
def test_a_device_step_asks_the_pool_for_exactly_that_device(step, spec):
    pool = Pool(setup(status=spec["status"], device_type=spec["device_type"], smets=spec["smets"]))
    state = State(caps=frozenset(), device_pool=pool, client=Client(exchange()))
    check(state, scenario(step), [])
    assert pool.calls[0] == ("take", spec)
    assert state.planned_fuel == spec["fuel"] and state.reserved is not None


def test_the_last_device_step_is_the_one_used():
    pool = Pool(setup(smets=2))
    state = State(caps=frozenset(), device_pool=pool)
    check(state, scenario(DEVICE_STEPS[0][0], DEVICE_STEPS[1][0]), [])
    assert pool.calls == [("take", DEVICE_STEPS[1][1])]


def test_a_device_the_harness_provisions_needs_no_pool():
    pool = Pool()
    state = State(caps=frozenset({Capability.PROVISION}), device_pool=pool)
    check(state, scenario(DEVICE_STEPS[0][0]), [])
    assert pool.calls == [] and state.planned_fuel == "gas"
    check(State(caps=frozenset(), device_pool=None), scenario(DEVICE_STEPS[0][0]), [])


def test_the_statement_rules_out_a_fuel_an_s1sp_or_smets2_before_the_pool_is_asked():
    pool = Pool()
    assert not_applicable(State(statement=statement(fuels=("electricity",)), device_pool=pool, caps=frozenset()),
                          DEVICE_STEPS[0][0]) == "no gas devices: [statement] fuels = ['electricity'] (dcc.toml [statement])"
    st = statement(s1sps={"S1SP2": S1SPStatement(True, False)})
    assert not_applicable(State(statement=st, device_pool=pool), DEVICE_STEPS[0][0]) == (
        "S1SP2 is not in scope: [statement.s1sps.S1SP2] in_scope = false (dcc.toml [statement])")
    assert not_applicable(State(statement=statement(smets2=False), device_pool=pool), DEVICE_STEPS[1][0]) == (
        "no SMETS2 devices: [statement] smets2 = false (dcc.toml [statement])")
    assert pool.calls == []
    # an S1SP out of scope does not rule out a SMETS2 scenario, nor SMETS2 = false a SMETS1 one
    check(State(statement=statement(s1sps={}), caps=frozenset({Capability.PROVISION})),
                    scenario(DEVICE_STEPS[1][0]), [])
    check(State(statement=statement(smets2=False), caps=frozenset({Capability.PROVISION})),
                    scenario(DEVICE_STEPS[0][0]), [])


def test_no_fitting_device_left_skips_saying_what_was_wanted():
    state = State(caps=frozenset(), device_pool=Pool())
    with pytest.raises(pytest.skip.Exception) as caught:
        preflight.check(state, scenario(DEVICE_STEPS[0][0]), [])
    assert caught.value.msg == (
        f"target dcc-x cannot be provisioned and its profile lists no wanted {sorted(DEVICE_STEPS[0][1].items())} "
        "that holds what it declares (each serves one scenario per run)")


def test_a_device_that_does_not_hold_what_the_profile_declares_is_rejected_and_the_next_one_tried():
    wrong = credentials(operator={"DigitalSigning": ("WNO", "ca"), "KeyAgreement": ("NO", "bb")})
    pool = Pool(setup("D1"), setup("D2"), setup("D3"))
    client = Client(exchange(creds=wrong), exchange(ack="I99", outcome="S1VE4"), exchange())
    state = State(caps=frozenset(), device_pool=pool, client=client)
    check(state, scenario("a commissioned SMETS1 device of S1SP1 supplying electricity"), [])
    rejects = [c for c in pool.calls if c[0] == "reject"]
    assert rejects == [
        ("reject", "D1", "NetworkOperator slot: 6.24.1 shows {'DigitalSigning': 'WNO sha1 ca', 'KeyAgreement': 'NO sha1 bb'}"),
        ("reject", "D2", "its 6.24.1 read-back ended in S1VE4")]
    assert state.reserved.device.device_id == "D3"
    signer, request, description = client.sent[0]
    assert signer == "signer:registered network operator"
    assert request[:3] == ("user:registered network operator:electricity", "D1", "6.24.1")
    assert request[3].remote_party_roles == ("Supplier", "NetworkOperator")
    assert description == "SRV 6.24.1 reading both slots (device survey)"


@pytest.mark.parametrize("answer, words", [
    (exchange(ack="E1", outcome=None), "its 6.24.1 read-back ended in E1"),
    (exchange(ack="I99", outcome=None, final="none within 10 s"), "its 6.24.1 read-back ended in none within 10 s"),
    (exchange(ack="I99", outcome="I0", creds=credentials(supplier={})),
     "Supplier slot: 6.24.1 shows nothing"),
    (exchange(creds=credentials(supplier={}, operator={})),
     "Supplier slot: 6.24.1 shows nothing; NetworkOperator slot: 6.24.1 shows nothing"),
])
def test_what_a_surveyed_device_holds_in_words(answer, words):
    state = State(client=Client(answer))
    assert preflight.survey(state, setup()) == words


@pytest.mark.parametrize("device", [setup(status="Decommissioned"), setup(device_type="CHF"), setup(smets=2)])
def test_devices_that_cannot_be_read_back_are_taken_as_declared(device):
    state = State(client=Client())           # nothing sent: Client would fail on an unexpected send
    assert preflight.survey(state, device) is None and not state.client.sent


# --- the parties a scenario speaks as -----------------------------------------------------------------------------

def test_the_parties_named_in_the_steps_are_asked_for_with_the_scenario_fuel():
    state = State(caps=frozenset({Capability.PROVISION}))
    check(state, scenario("a commissioned SMETS1 device of S1SP1 supplying gas",
                                    "the wrong network operator sends SRV 6.15.1 to the other user",
                                    "the export supplier reads it"), [])
    assert state.asked == [("wrong network operator", "gas"), ("other user", "gas"), ("export supplier", "gas")]


def test_without_a_device_only_the_parties_that_need_no_fuel_are_asked_for():
    state = State()
    check(state, scenario("the registered supplier and the other user send nothing"), [])
    assert state.asked == [("other user", None)]


# --- the postamble ---------------------------------------------------------------------------------------------------

def post(state, name="scen"):
    preflight.postamble(state, name)
    return state.device_pool.calls


def test_no_device_of_the_pool_means_nothing_to_put_back():
    state = State(device_pool=Pool())
    preflight.postamble(state, "s")
    assert state.device_pool.calls == []
    preflight.postamble(State(reserved=setup(), device_pool=None), "s")


def test_a_device_whose_slots_no_request_changed_goes_back_unchanged():
    state = State(reserved=setup("D1"), device_pool=Pool(), changed_slots=False)
    assert post(state) == [("record", "D1", "unchanged", "", "scen"), ("give_back", "D1")]


def test_a_device_read_back_as_declared_goes_back_unchanged():
    state = State(reserved=setup("D1"), device_pool=Pool(), changed_slots=True, client=Client(exchange()))
    assert post(state) == [("record", "D1", "unchanged", "", "scen"), ("give_back", "D1")]


def test_a_changed_supplier_slot_cannot_be_restored_by_the_harness():
    creds = credentials(supplier={"DigitalSigning": ("X", "ff"), "KeyAgreement": ("SUP", "ab")})
    state = State(reserved=setup("D1"), device_pool=Pool(), changed_slots=True, client=Client(exchange(creds=creds)))
    assert post(state) == [("record", "D1", "left changed",
                            "Supplier slot: 6.24.1 shows {'DigitalSigning': 'X sha1 ff', 'KeyAgreement': 'SUP sha1 ab'}; "
                            "the Supplier slot cannot be restored by the harness (only its owner could replace it)",
                            "scen")]


def test_a_changed_network_operator_slot_is_restored_by_the_registered_suppliers_6_21():
    creds = credentials(operator={})
    client = Client(exchange(creds=creds), exchange(outcome="I0"), exchange())
    state = State(reserved=setup("D1"), device_pool=Pool(), changed_slots=True, client=client)
    assert post(state) == [("record", "D1", "restored",
                            "the registered supplier's 6.21 put the declared certificates back", "scen")]
    signer, request, description = client.sent[1]
    assert signer == "signer:registered supplier"
    assert request[:3] == ("user:registered supplier:electricity", "D1", "6.21")
    body = request[3]
    assert (body.replacement.digital_signing, body.replacement.key_agreement) == (
        b"ds:registered network operator", b"ka:registered network operator")
    assert body.certification_path == (b"path",) and body.remote_party_role == "NetworkOperator"
    assert description == "SRV 6.21 restoring the registered network operator's certificates (postamble)"


def test_a_restoring_6_21_that_fails_or_does_not_take_leaves_the_device_changed():
    state = State(reserved=setup("D1"), device_pool=Pool(), changed_slots=True,
                  client=Client(exchange(creds=credentials(operator={})), exchange(outcome="S1VE64")))
    assert post(state) == [("record", "D1", "left changed", "the restoring 6.21 ended in S1VE64", "scen")]
    state = State(reserved=setup("D1"), device_pool=Pool(), changed_slots=True,
                  client=Client(exchange(creds=credentials(operator={})), exchange(), exchange(creds=credentials(operator={}))))
    assert post(state) == [("record", "D1", "left changed", "after the restoring 6.21: NetworkOperator slot: "
                            "6.24.1 shows nothing", "scen")]


def test_a_device_that_cannot_be_read_back_is_restored_without_a_read_back():
    client = Client(exchange(outcome="I0"))
    state = State(reserved=setup("D1", device_type="CHF"), device_pool=Pool(), changed_slots=True, client=client)
    assert post(state) == [("record", "D1", "restored",
                            "the registered supplier's 6.21 put the declared certificates back", "scen")]
    assert len(client.sent) == 1


def test_a_postamble_that_cannot_finish_reports_the_device_left_changed_and_never_raises():
    state = State(reserved=setup("D1"), device_pool=Pool(), changed_slots=True,
                  client=Client(TimeoutError("no answer in 10 s")))
    assert post(state) == [("record", "D1", "left changed",
                            "the postamble could not finish: TimeoutError: no answer in 10 s", "scen")]
