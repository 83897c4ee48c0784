"""The command line itself, offline: options, usage errors, and main()'s exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from conftest import Tiny, run_hpatch

from hpatch import cli
from hpatch.errors import HpatchError, UsageError


def test_list_and_help() -> None:
    result = run_hpatch("list", "--json")
    assert result.code == 0
    fixes = {f["id"]: f for f in json.loads(result.out)}
    assert fixes["HDFS-9812"]["fixed_in"] == ["2.7.3"]
    assert run_hpatch("--version").out.strip() == "hpatch, version 0.1.0"
    # the fast path in __main__ prints what click's own --version prints
    from click.testing import CliRunner

    from hpatch.__main__ import VERSION_LINE
    from hpatch.cli import cli
    assert CliRunner().invoke(cli, ["--version"]).output.strip() == VERSION_LINE
    # Every verb's help, in process: one interpreter instead of fourteen.
    from click.testing import CliRunner

    from hpatch.cli import cli
    runner = CliRunner()
    for verb in ("source", "list", "status", "apply", "revert", "refresh", "lint", "recover",
                 "verify", "matrix", "diagnose", "ci", "build", "notes", "cache", "image",
                 "report", "import"):
        shown = runner.invoke(cli, [verb, "--help"])
        assert shown.exit_code == 0 and f"Usage: cli {verb}" in shown.output, (verb, shown.output)


def test_bundled_catalog_is_lint_clean() -> None:
    result = run_hpatch("lint")
    assert result.code == 0, result.out + result.err


def test_a_subcommand_names_the_release_with_release() -> None:
    shown = run_hpatch("status", "--help").out
    assert "--release RELEASE" in shown
    assert "--version" not in shown  # the old spelling works, but is not offered


def test_version_still_names_a_release_on_subcommands(tiny: Tiny) -> None:
    # A release that cannot be parsed shows the option was taken as a release.
    for spelling in ("--release", "--version"):
        result = tiny.hpatch("status", spelling, "not-a-release")
        assert result.code != 0 and "not-a-release" in result.err, (spelling, result.err)


@pytest.mark.parametrize("args,text", [
    (("frob",), "No such command 'frob'"),
    (("status", "--bogus"), "No such option '--bogus'"),
    (("verify", "--builder", "nope"), "'nope' is not one of 'fast', 'full'"),
    (("verify", "--runtime", "nope"), "'nope' is not one of 'docker', 'local'"),
    (("status", "--kind", "nope"), "'nope' is not one of 'bug', 'build', 'all'"),
    (("ci",), "Missing option '--emit'"),
])
def test_usage_errors_are_one_hpatch_line_and_exit_2(args: tuple[str, ...], text: str) -> None:
    result = run_hpatch(*args)
    assert result.code == 2
    assert result.err.count("\n") == 1 and len(result.error_lines) == 1, result.err
    assert text in result.error_lines[0] and "--help" in result.error_lines[0]
    assert "Usage:" not in result.err


def test_catalog_may_follow_the_verb(tiny: Tiny, tmp_path: Path) -> None:
    for args in (("--catalog", str(tiny.catalog), "list", "--json"),
                 ("list", "--json", "--catalog", str(tiny.catalog))):
        result = run_hpatch(*args)
        assert result.code == 0, result.err
        assert [f["id"] for f in json.loads(result.out)] == ["TINY-1"]
    result = run_hpatch("status", "--repo", str(tiny.repo), "--catalog", str(tmp_path / "none"))
    assert result.code == 1 and "catalog directory not found" in result.err


def test_start_up_imports_nothing_a_verb_does_not_need() -> None:
    # --version must not pay for git, Maven, the catalog, JSON or Docker.
    probe = ("import sys; from hpatch import cli; "
             "print(' '.join(m for m in ('docker', 'hpatch.catalog', 'hpatch.checkout', "
             "'hpatch.builders', 'hpatch.maven', 'unidiff', 'json') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


def _exit_code_of(raise_this: BaseException, monkeypatch: pytest.MonkeyPatch) -> int:
    """main() on a real command that raises, as a user's run would."""
    @click.command("boom")
    def boom() -> None:
        raise raise_this

    cli.cli.add_command(boom)
    monkeypatch.setattr(sys, "argv", ["hpatch", "boom"])
    try:
        with pytest.raises(SystemExit) as stopped:
            cli.main()
    finally:
        cli.cli.commands.pop("boom")
    return int(stopped.value.code or 0)


@pytest.mark.parametrize("error,code,text", [
    (HpatchError("it broke\nmore"), 1, "hpatch: error: it broke\n"),
    (UsageError("say which"), 2, "hpatch: error: say which\n"),
    (KeyboardInterrupt(), 130, "hpatch: error: interrupted\n"),
    (RuntimeError("a bug"), 3, "internal error (RuntimeError: a bug); details in "),
])
def test_main_maps_each_failure_to_its_exit_code(error: BaseException, code: int, text: str,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_code_of(error, monkeypatch) == code
    err = capsys.readouterr().err
    # (after ^C, click starts a fresh line first: the terminal shows "^C" there)
    assert text in err and err.strip().count("\n") == 0, err
    if code == 3:
        log = Path(err.rsplit("details in ", 1)[1].strip())
        assert "RuntimeError: a bug" in log.read_text()  # the traceback is kept
