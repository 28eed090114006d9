"""`mp107 diff` and `mp107 merge` on small run folders written here (the whole-suite cases are in
tests/test_concurrent_runs.py): what differs is listed, in each format, with exit 1; the same is
exit 0; a merge that would not make one run is refused, saying why; what a request saw is recorded
in words that do not change between runs (adapters/observations.py)."""
from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from adapters.client import Exchange
from adapters.observations import observe
from adapters.target import Acknowledgement, Outcome
from adapters.world import Cast
from duis.messages import RemotePartyDetail, S1SPAlert, ServiceResponse
from mp107 import cli

ROOT = Path(__file__).resolve().parents[1]
FEATURE = "features/requirement1_correction.feature"


def result(folder: Path, name: str, status: str, observed: list[dict], s1sp: str | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    labels = [{"name": "feature", "value": "correction"}, {"name": "story", "value": "MP107-R1.4"}]
    labels += [{"name": "mp107_observed", "value": json.dumps({"n": n, **o})} for n, o in enumerate(observed, 1)]
    raw = {"uuid": str(uuid.uuid4()), "name": name, "fullName": f"{FEATURE}:{name}", "status": status,
           "historyId": uuid.uuid4().hex, "labels": labels,
           "parameters": [{"name": "s1sp", "value": s1sp}] if s1sp else []}
    (folder / f"{raw['uuid']}-result.json").write_text(json.dumps(raw))


def run_folder(tmp_path: Path, name: str, scenarios: list[tuple]) -> Path:
    run = tmp_path / name
    for scenario in scenarios:
        result(run / "allure-results", *scenario)
    return run


OK = [{"request": "SRV 6.15.1", "from": "wrong network operator", "ack": "I99", "final": "I0"},
      {"request": "SRV 6.24.1", "from": "registered network operator", "ack": "I99", "final": "I0",
       "slots": {"NetworkOperator": "registered network operator"}}]


def mp107(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mp107", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_the_same_outcomes_are_exit_0_and_every_difference_is_listed_with_exit_1(tmp_path):
    a = run_folder(tmp_path, "a", [("one", "passed", OK), ("two", "passed", OK), ("three", "passed", OK)])
    b_alert = [OK[0] | {"final": "S1SP alert S1VE4"}, OK[1]]
    b_slot = [OK[0], OK[1] | {"slots": {"NetworkOperator": "wrong network operator"}}]
    b = run_folder(tmp_path, "b", [("one", "failed", b_alert), ("two", "passed", b_slot), ("three", "passed", OK)])
    same = mp107("diff", a, run_folder(tmp_path, "c", [("one", "passed", OK), ("two", "passed", OK),
                                                     ("three", "passed", OK)]))
    assert same.returncode == 0 and "no scenario differs" in same.stdout
    differ = mp107("diff", a, b, "--format", "json")
    assert differ.returncode == 1
    rows = {d["scenario"].split(":", 1)[1]: d for d in json.loads(differ.stdout)["differences"]}
    assert set(rows) == {"one", "two"}
    assert rows["one"]["values"] == {"a": "passed: I0", "b": "failed: S1SP alert S1VE4"}
    assert "final outcome" in rows["one"]["differs_in"]
    assert "slots read back" in rows["two"]["differs_in"]
    assert rows["two"]["values"]["b"] == "NetworkOperator wrong network operator"
    markdown = mp107("diff", a, b, "--format", "markdown")
    assert markdown.returncode == 1 and "| scenario | differs in | a | b |" in markdown.stdout
    terminal = mp107("diff", a, b)
    assert terminal.returncode == 1 and "2 scenario(s) differ" in terminal.stdout


def test_by_s1sp_compares_the_s1sps_of_one_run(tmp_path):
    alert = [OK[0] | {"final": "S1SP alert S1VE4"}, OK[1]]
    run = run_folder(tmp_path, "run", [("fix on S1SP1", "passed", OK, "S1SP1"), ("fix on S1SP2", "failed", alert, "S1SP2"),
                                       ("fix on S1SP3", "passed", OK, "S1SP3"), ("read on S1SP1", "passed", OK, "S1SP1"),
                                       ("read on S1SP2", "passed", OK, "S1SP2"), ("only S1SP1's", "passed", OK, "S1SP1")])
    done = mp107("diff", run, "--by", "s1sp", "--format", "json")
    assert done.returncode == 1
    [row] = json.loads(done.stdout)["differences"]
    assert row["scenario"].endswith("fix on <S1SP>")
    assert row["values"] == {"S1SP1": "passed: I0", "S1SP2": "failed: S1SP alert S1VE4", "S1SP3": "passed: I0"}
    assert mp107("diff", run, run).returncode == 0
    assert mp107("diff", run).returncode == 2          # two folders, or one with --by s1sp


def test_merge_refuses_what_does_not_make_one_run(tmp_path):
    def shard(name, k, target="local"):
        run = run_folder(tmp_path, name, [(name, "passed", OK)])
        (run / "junit.xml").write_text('<testsuites><testsuite tests="1"><testcase classname="c" name="n"/>'
                                       '</testsuite></testsuites>')
        (run / "run-info.json").write_text(json.dumps({"options": {"target": target, "s1sp": "all", "shard": k},
                                                       "pytest_exit_code": 0}))
        return run
    one, two, other = shard("one", "1/3"), shard("two", "2/3"), shard("other", "3/3", target="http://elsewhere")
    assert "missing 3/3" in mp107("merge", one, two, "--out", tmp_path / "m").stderr
    assert "given twice 1/3" in mp107("merge", one, shard("again", "1/3"), two, "--out", tmp_path / "m").stderr
    refused = mp107("merge", one, two, other, "--out", tmp_path / "m")
    assert refused.returncode == 2 and "--target differ" in refused.stderr
    assert "not a run folder" in mp107("merge", tmp_path, "--out", tmp_path / "m").stderr


def test_observations_name_parties_and_hide_what_changes_between_runs():
    cast = Cast()
    sender = cast.party("wrong network operator", "gas")
    rid = f"{sender.user_id}:00-DB-12-34-56-78-9A-BC:1796529809138483"
    registered = cast.party("registered network operator", "gas")
    credentials = tuple(RemotePartyDetail("NetworkOperator", usage, registered.user_id, sha1, 0)
                        for usage, (_, sha1) in registered.slot_entries().items())
    read = ServiceResponse(rid, None, "I0", None, "6.24.1", "SMETS1ResponseMessage", credentials=credentials)
    exchange = Exchange(sender.user_id, f"SRV 6.24.1 of 00-DB-12-34-56-78-9A-BC replaying {rid}", rid, b"",
                        ack=Acknowledgement(rid, 200, b"", read, None), outcome=Outcome(rid, b"", read))
    seen = observe(exchange, cast)
    assert seen == {"request": "SRV 6.24.1 of <device> replaying <RequestID>", "from": "wrong network operator",
                    "ack": "I0", "final": "I0", "slots": {"NetworkOperator": "registered network operator"}}
    alert = ServiceResponse(rid, None, "I0", None, "6.15.1", "DCCAlertMessage",
                            s1sp_alert=S1SPAlert("S1VE64", rid, None, None))
    exchange.outcome = Outcome(rid, b"", alert)
    assert observe(exchange, cast)["final"] == "S1SP alert S1VE64"


def test_workers_against_one_target_refuse_a_fixed_callback_port(tmp_path):
    profile = tmp_path / "fixed.toml"
    profile.write_text((ROOT / "profiles" / "reference.toml").read_text().replace('listen = "127.0.0.1:0"',
                                                                                   'listen = "127.0.0.1:8888"'))
    done = subprocess.run([sys.executable, "-m", "pytest", "features", "-n", "2", "--target", "http://127.0.0.1:9",
                           "--profile", str(profile), "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 4 and "fixed port" in done.stderr + done.stdout


def test_run_passes_workers_and_shard_to_pytest(tmp_path):
    args = cli.build_parser().parse_args(["run", "--target", "profile", "--profile", "p.toml", "--workers", "8",
                                          "--shard", "2/3"])
    cmd = cli._pytest_command(args, tmp_path, [])
    assert cmd[cmd.index("-n") + 1] == "8" and cmd[cmd.index("--shard") + 1] == "2/3"


def test_merge_keeps_every_shards_wire_and_certificate_evidence(tmp_path):
    """The evidence bundle of a merged run needs every shard's wire bytes and certificates: content-addressed
    files once, each shard's per-worker index under a name of its own (both shards have a worker gw0)."""
    from mp107 import merge

    shards = []
    for k, body in ((1, b"<a/>"), (2, b"<b/>")):
        run = tmp_path / f"shard{k}"
        for folder in merge.EVIDENCE_FOLDERS:
            (run / folder).mkdir(parents=True)
            (run / folder / f"{k}{k}.xml").write_bytes(body)
            (run / folder / "shared.pem").write_bytes(b"same")
            (run / folder / "index-gw0.jsonl").write_text(json.dumps({"shard": k}) + "\n")
        shards.append(run)
    out = tmp_path / "merged"
    for folder in merge.EVIDENCE_FOLDERS:
        merge._evidence(shards, folder, out / folder)
        names = sorted(p.name for p in (out / folder).iterdir())
        assert names == ["11.xml", "22.xml", "index-shard1-gw0.jsonl", "index-shard2-gw0.jsonl", "shared.pem"]
        assert (out / folder / "index-shard2-gw0.jsonl").read_text() == '{"shard": 2}\n'
    (shards[1] / "wire" / "shared.pem").write_bytes(b"other")
    with pytest.raises(merge.MergeError, match="different bytes"):
        merge._evidence(shards, "wire", tmp_path / "again" / "wire")
