"""The mutation-testing command's inputs cannot go stale (scripts/mutation.sh, tests/mutation/): every
module of its table and every test it selects exist, and every accepted mutant in
tests/mutation/accepted.toml is still one that mutmut makes of today's source. The mutants are
enumerated with mutmut's own mutation code, without running a test (a second or two)."""
from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_command():
    spec = importlib.util.spec_from_file_location("mutation_command", ROOT / "scripts" / "mutation.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


mutation = _load_command()
TABLE = mutation.load_table()


def test_the_table_names_existing_modules_and_tests_and_no_slow_test():
    assert [m.path for m in TABLE], "no module to mutate"
    for m in TABLE:
        assert (ROOT / m.path).is_file(), m.path
        assert m.tests, f"{m.path}: no test selected"
        for t in m.tests:
            path = ROOT / t.split("::")[0]
            assert path.is_file(), f"{m.path}: selects {t}, which does not exist"
            text = path.read_text(encoding="utf-8")
            assert "pytestmark = pytest.mark.slow" not in text, f"{t} is slow: not for mutation testing"
            slow = re.findall(r"@pytest\.mark\.slow\s*\n(?:@.*\n)*def (\w+)\(", text)
            assert text.count("pytest.mark.slow") == len(slow), f"{t}: a slow mark this test cannot place"
            file, _, picked = t.partition("::")
            for name in slow:       # a file may hold a slow test only if the table leaves it out
                assert (picked and picked != name) or f"{file}::{name}" in m.deselect, (
                    f"{file}::{name} is slow: not for mutation testing (deselect it)")
        for d in m.deselect:
            file, _, name = d.partition("::")
            assert f"def {name}(" in (ROOT / file).read_text(encoding="utf-8"), f"{m.path}: deselects {d}, which does not exist"
    assert len({m.path for m in TABLE}) == len(TABLE)


@pytest.fixture(scope="module")
def mutants(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("mutmut")
    return {m.path: mutation.mutants_of(m.path, scratch=scratch) for m in TABLE}


def test_every_accepted_mutant_still_exists(mutants):
    accepted = mutation.load_accepted()
    modules = {m.path for m in TABLE}
    stale = []
    for a in accepted:
        assert a.identity.module in modules, f"accepted entry for a module not under mutation testing: {a.identity.module}"
        if a.identity not in set(mutants[a.identity.module].values()):
            stale.append(a.identity.describe())
    assert not stale, ("tests/mutation/accepted.toml names mutants that no longer exist (the code changed: "
                       "rerun scripts/mutation.sh and update the list):\n" + "\n".join(stale))
    identities = [a.identity for a in accepted]
    assert len(identities) == len(set(identities)), "an accepted mutant is listed twice"


def test_every_module_has_mutants_with_readable_identities(mutants):
    for module, found in mutants.items():
        assert found, f"mutmut makes no mutant of {module}"
        for name, identity in found.items():
            assert name.startswith(module.removesuffix(".py").replace("/", ".") + ".")
            assert identity.function and (identity.source or identity.mutant), name


def test_properties_are_mutated_as_plain_methods_that_python_treats_the_same():
    source = "class C:\n    @property\n    def f(self):\n        return 1\n\n    @staticmethod\n    def g():\n        return 2\n"
    prepared = mutation.prepare_source(source)
    assert "f = property(f)" in prepared and "@staticmethod" in prepared and "@property" not in prepared
    space: dict = {}
    exec(compile(prepared, "prepared", "exec"), space)
    assert isinstance(space["C"].__dict__["f"], property) and space["C"]().f == 1


def test_an_accepted_entry_needs_a_reason(tmp_path):
    path = tmp_path / "accepted.toml"
    path.write_text('[[accepted]]\nmodule = "m.py"\nfunction = "f"\nsource = "a"\nmutant = "b"\nwhy = " "\n')
    with pytest.raises(ValueError, match="gives no reason"):
        mutation.load_accepted(path)


def test_the_readme_carries_a_row_of_figures_for_every_module():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert mutation.START in text and mutation.END in text
    block = text.split(mutation.START, 1)[1].split(mutation.END, 1)[0]
    for m in TABLE:
        assert f"| `{m.path}` |" in block, f"README's mutation figures lack {m.path}: run scripts/mutation.sh --readme"
