"""The layering the README promises: each outside thing has one owning module.

Read from the package's own source (no imports run), so a lazy import inside a
function counts as much as one at the top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "hpatch"

# what -> the one module allowed to use it
OWNERS = {
    "docker": "runtime/docker.py",      # the docker SDK
    "git": "checkout.py",               # GitPython
    "subprocess": "proc.py",
    "print": "output.py",
    ".git(": "checkout.py",             # Checkout's raw git runners
    "mvn": "maven.py",                  # an argv that starts with mvn
}


def uses(tree: ast.AST) -> set[str]:
    """Which of OWNERS' things this module's code uses."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "print":
                found.add("print")
            elif isinstance(func, ast.Attribute) and func.attr in ("git", "git_status"):
                found.add(".git(")
        elif isinstance(node, ast.List) and node.elts:
            first = node.elts[0]
            if isinstance(first, ast.Constant) and first.value == "mvn":
                found.add("mvn")
    return found & set(OWNERS)


def violations(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        name = path.relative_to(root).as_posix()
        for what in sorted(uses(ast.parse(path.read_text(encoding="utf-8"), name))):
            if OWNERS[what] != name:
                found.append(f"{name} uses {what} (only {OWNERS[what]} may)")
    return found


def test_each_outside_thing_is_used_by_its_owner_only() -> None:
    assert violations(PACKAGE) == []


# GitPython is no longer used at all (checkout.py runs git itself); should it come
# back, it belongs in checkout.py.
UNUSED = {"git"}


def test_every_owner_exists_and_uses_what_it_owns() -> None:
    for what, owner in OWNERS.items():
        tree = ast.parse((PACKAGE / owner).read_text(encoding="utf-8"))
        assert (what in uses(tree)) != (what in UNUSED), f"{owner} and {what}: update OWNERS"


@pytest.mark.parametrize("code,what", [
    ("import docker.errors\n", "docker"),
    ("def f():\n    from git import Repo\n", "git"),
    ("import subprocess as sp\n", "subprocess"),
    ("print('x', file=None)\n", "print"),
    ("checkout.git('status')\n", ".git("),
    ("c.git_status('rev-parse')\n", ".git("),
    ("argv = ['mvn', '-B']\n", "mvn"),
])
def test_the_check_sees_each_kind_of_use(tmp_path: Path, code: str, what: str) -> None:
    (tmp_path / "elsewhere.py").write_text(code)
    assert violations(tmp_path) == [f"elsewhere.py uses {what} (only {OWNERS[what]} may)"]


def test_names_that_only_look_alike_are_not_uses(tmp_path: Path) -> None:
    (tmp_path / "elsewhere.py").write_text(
        "from hpatch.runtime import docker\n_print(1)\nx.printer()\n"
        "s = 'import subprocess; print(1)'\nline = 'mvn -B ' + args\n")
    assert violations(tmp_path) == []
