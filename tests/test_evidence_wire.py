"""evidence/wire.py: issue 16's wire contract read back. Each leg's file must hash to its name and
index entry and have its length; an index line that does not keep the contract's shape is named, not
skipped in silence."""
from __future__ import annotations

import hashlib
import json

from evidence import wire


def _entry(data: bytes, **over) -> dict:
    entry = {"scenario": "features/test_scenarios.py::test_x", "request_id": "A:B:1", "leg": "request",
             "direction": "to-target", "signer": "90-B3-D5-1F-30-01-00-03",
             "sha256": hashlib.sha256(data).hexdigest(), "length": len(data)}
    entry.update(over)
    return entry


def _files(entries: list[dict], blobs: dict[str, bytes], index: str = "wire/index-gw0.jsonl") -> dict[str, bytes]:
    files = {f"wire/{hashlib.sha256(b).hexdigest()}.xml": b for b in blobs.values()}
    files[index] = "".join(json.dumps(e) + "\n" for e in entries).encode()
    return files


def test_good_legs_read_back_in_order_with_their_bytes():
    a, b = b"<Request/>", b"<Response/>"
    files = _files([_entry(a), _entry(b, leg="acknowledgement", direction="from-target", signer="DSP")], {"a": a, "b": b})
    legs, problems = wire.read(files)
    assert problems == [] and [leg.leg for leg in legs] == ["request", "acknowledgement"]
    assert [leg.order for leg in legs] == [1, 2]
    data, problems, notes = wire.check_files(files, legs)
    assert problems == [] and notes == [] and data[legs[1].sha256] == b


def test_a_changed_byte_a_wrong_length_and_a_missing_file_are_each_named():
    a, b, c = b"<Request/>", b"<Response/>", b"<Outcome/>"
    files = _files([_entry(a), _entry(b, length=99), _entry(c)], {"a": a, "b": b})
    files[f"wire/{hashlib.sha256(a).hexdigest()}.xml"] = b"<Requesu/>"
    legs, _ = wire.read(files)
    _, problems, _ = wire.check_files(files, legs)
    assert any("wire bytes were changed" in p for p in problems)
    assert any("is 11 bytes; the index says 99" in p for p in problems)
    assert any(p.endswith("the file is missing") for p in problems)


def test_index_lines_that_break_the_contract_are_named():
    a = b"<Request/>"
    bad = [_entry(a, direction="sideways"), _entry(a, sha256="ABC"), _entry(a, length=-1),
           {k: v for k, v in _entry(a).items() if k != "scenario"}, _entry(a, signer=7)]
    files = _files(bad, {"a": a})
    files["wire/index-gw1.jsonl"] = b"not json\n"
    legs, problems = wire.read(files)
    assert legs == [] and len(problems) == 6
    assert any("index-gw1.jsonl line 1: not JSON" in p for p in problems)
    assert any("direction 'sideways'" in p for p in problems)


def test_a_file_no_index_names_is_noted():
    a = b"<Request/>"
    files = _files([_entry(a)], {"a": a})
    files["wire/" + "0" * 64 + ".xml"] = b"stray"
    legs, _ = wire.read(files)
    _, problems, notes = wire.check_files(files, legs)
    assert problems == [] and notes == [f"wire/{'0' * 64}.xml: no index names it"]
