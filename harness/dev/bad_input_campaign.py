"""Issue 18's bad-input campaign, items 1-19, run as a new user would run each case.

    python harness/dev/bad_input_campaign.py [--code DIR] [--checkout DIR] [--work DIR]
        [--items 1,2,9] [--json OUT.json] [--markdown]
    python harness/dev/bad_input_campaign.py --side-by-side OLD.json NEW.json

--code is the hpatch tree to test (its `hpatch` package through PYTHONPATH, its
`patches/` as the catalog; default: this tree). Each case runs on its own
throwaway clone (`git clone --shared`) of a real 2.4.1 checkout: --checkout, or
one made with `hpatch source 2.4.1` under --work. Fixtures (logs) come from this
tree, so two code trees get the same inputs. One table is printed: item, case,
exit code, outcome, expected, pass/fail; exit 1 when a case fails.
--side-by-side prints two saved runs (e.g. old code and new) as one markdown table.
"""

from __future__ import annotations

import argparse
import bz2
import contextlib
import gzip
import json
import lzma
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from tabulate import tabulate

TREE = Path(__file__).resolve().parents[2]
RELEASE = "2.4.1"
BRANCH = "hadoop-2.4.1"
HDFS_FILE = ("hadoop-hdfs-project/hadoop-hdfs/src/main/java/org/apache/hadoop/hdfs/"
             "DFSOutputStream.java")
YARN_FILE = ("hadoop-yarn-project/hadoop-yarn/hadoop-yarn-server/"
             "hadoop-yarn-server-resourcemanager/src/main/java/org/apache/hadoop/yarn/server/"
             "resourcemanager/recovery/RMStateStore.java")
LOG = TREE / "tests" / "fixtures" / "logs" / "hdfs-6364-reproducer.log"
TIMEOUT = 900


@dataclass(frozen=True)
class Ran:
    """One hpatch run: its exit code and both streams."""

    code: int
    out: str
    err: str

    @property
    def traceback(self) -> bool:
        return "Traceback" in self.err

    @property
    def last(self) -> str:
        """The line a user reads first: stderr's last, else stdout's last."""
        lines = [ln for ln in self.err.splitlines() if ln.strip()]
        lines = lines or [ln for ln in self.out.splitlines() if ln.strip()]
        return lines[-1].strip() if lines else ""


@dataclass(frozen=True)
class Row:
    item: str
    case: str
    code: int | None
    outcome: str
    expected: str
    passed: bool


def clip(text: str, width: int = 110) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


class Campaign:
    """Runs hpatch from one code tree on throwaway clones of one real checkout."""

    def __init__(self, code: Path, base: Path, work: Path) -> None:
        self.code, self.base, self.work = code, base, work
        self.rows: list[Row] = []
        self._n = 0

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The user's environment without git's or hpatch's own variables, then `extra`."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("GIT_", "HPATCH_"))}
        env.update(PYTHONPATH=str(self.code), HPATCH_CATALOG=str(self.code / "patches"),
                   HPATCH_RUNS=str(self.work / "runs"))
        env.update(extra or {})
        return env

    def hp(self, *args: str, env: dict[str, str] | None = None, stdin: str | bytes | None = None,
           stdout: Any = None) -> Ran:
        data = stdin.encode() if isinstance(stdin, str) else stdin
        done = subprocess.run([sys.executable, "-m", "hpatch", *args], env=self.env(env),
                              cwd=self.work, input=data,
                              stdout=stdout if stdout is not None else subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=TIMEOUT, check=False)
        out = done.stdout.decode(errors="replace") if isinstance(done.stdout, bytes) else ""
        return Ran(done.returncode, out, done.stderr.decode(errors="replace"))

    def popen(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "hpatch", *args], env=self.env(env),
                                cwd=self.work, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    def fresh(self) -> Path:
        """A new clone of the checkout, on its branch, with a committer set."""
        self._n += 1
        repo = self.work / f"c{self._n}"
        shutil.rmtree(repo, ignore_errors=True)
        git(self.work, "clone", "-q", "--shared", str(self.base), str(repo))
        git(repo, "checkout", "-q", "-B", BRANCH)
        git(repo, "config", "user.name", "Pat Example")
        git(repo, "config", "user.email", "pat@example.org")
        return repo

    def paused_git(self, name: str, action: str) -> dict[str, str]:
        """PATH with a `git` that runs `action` (sh) once, before the first update-ref."""
        bindir = self.work / f"bin-{name}"
        bindir.mkdir(exist_ok=True)
        mark = self.work / f"{name}.done"
        mark.unlink(missing_ok=True)
        real = shutil.which("git")
        script = (f'#!/bin/sh\nfor a; do if [ "$a" = update-ref ] && [ ! -e {mark} ]; then\n'
                  f"  touch {mark}; {action}\nfi; done\nexec {real} \"$@\"\n")
        (bindir / "git").write_text(script)
        (bindir / "git").chmod(0o755)
        return {"PATH": f"{bindir}:{os.environ['PATH']}"}

    def row(self, item: str, case: str, ran: Ran | None, outcome: str, expected: str,
            passed: bool) -> None:
        if ran is not None and ran.traceback:
            outcome, passed = "Python traceback; " + outcome, False
        outcome = outcome.replace(str(self.work), "$WORK").replace(str(Path.home()), "~")
        self.rows.append(Row(item, case, None if ran is None else ran.code, clip(outcome),
                             expected, passed))

    def state(self, repo: Path, fix: str) -> str:
        ran = self.hp("status", "--repo", str(repo), "--json")
        try:
            fixes = json.loads(ran.out)["fixes"]
        except (ValueError, KeyError):
            return f"status exit {ran.code}: {ran.last}"
        return next((str(f["state"]) for f in fixes if f["fix"] == fix), "absent")

    def noted(self, repo: Path) -> list[str]:
        ran = self.hp("notes", "--repo", str(repo), "--format", "json")
        try:
            return [str(f["id"]) for f in json.loads(ran.out)["fixes"]]
        except (ValueError, KeyError):
            return [f"notes exit {ran.code}: {ran.last}"]


def git(repo: Path, *args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          check=False, env={**os.environ, **(env or {})})
    if check and done.returncode:
        raise RuntimeError(f"git {' '.join(args)} exited {done.returncode}: {done.stderr[-300:]}")
    return done.stdout


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def trailers(repo: Path, rev: str = "HEAD") -> str:
    return git(repo, "log", "-1", "--format=%B", rev)


def touched(repo: Path, rev: str = "HEAD") -> list[str]:
    return git(repo, "diff-tree", "--no-commit-id", "--name-only", "-r", rev).split()


def readable(look: Callable[[], str]) -> tuple[str, bool]:
    """What `look` reads from a repository, or how git fails to read it (a broken repo)."""
    try:
        return look(), True
    except RuntimeError as exc:
        return f"BROKEN ({clip(str(exc), 70)})", False


def yaml_load(text: str) -> tuple[Any, str]:
    try:
        return YAML(typ="safe").load(text), ""
    except Exception as exc:  # any parse failure is the finding
        return None, type(exc).__name__


# ---------------------------------------------------------------------------- items


def item1(c: Campaign) -> None:
    repo = c.fresh()
    c.hp("apply", "HDFS-9812", "--repo", str(repo))
    fixed = (repo / HDFS_FILE).read_bytes()
    git(repo, "revert", "--no-edit", "HEAD")
    state = c.state(repo, "HDFS-9812")
    c.row("1", "git revert of the fix's commit: status", None, f"HDFS-9812 {state}",
          "applicable", state == "applicable")
    noted = c.noted(repo)
    c.row("1", "git revert of the fix's commit: notes", None, f"lists {noted or 'nothing'}",
          "HDFS-9812 not listed", "HDFS-9812" not in noted)
    before = head(repo)
    ran = c.hp("revert", "HDFS-9812", "--repo", str(repo))
    c.row("1", "git revert of the fix's commit: revert", ran,
          f"{ran.last}; branch {'moved' if head(repo) != before else 'unchanged'}",
          "exit 0, \"nothing to revert\"; branch unchanged (README: Revert)",
          ran.code == 0 and "nothing to revert" in ran.out + ran.err and head(repo) == before)
    ran = c.hp("apply", "HDFS-9812", "--repo", str(repo))
    again = "Hpatch-Fix: HDFS-9812" in trailers(repo) and (repo / HDFS_FILE).read_bytes() == fixed
    c.row("1", "git revert of the fix's commit: apply", ran,
          f"{ran.last}; fix in the code again: {'yes' if again else 'no'}",
          "exit 0, applied again", ran.code == 0 and again)
    repo = c.fresh()
    c.hp("apply", "HDFS-9812", "--repo", str(repo))
    subprocess.run(["git", "-C", str(repo), "apply", "-R"], check=True, capture_output=True,
                   input=git(repo, "diff", "HEAD~1", "HEAD"), text=True)
    git(repo, "commit", "-qam", "DFSOutputStream: back to the old close()")
    state = c.state(repo, "HDFS-9812")
    c.row("1", "a later commit takes the fix's lines out by hand: status", None,
          f"HDFS-9812 {state}", "applicable", state == "applicable")


def item2(c: Campaign) -> None:
    repo = c.fresh()
    c.hp("apply", "HDFS-9812", "YARN-4398", "--repo", str(repo))
    message = git(repo, "log", "-2", "--reverse", "--format=* %B")
    git(repo, "reset", "-q", "--soft", "HEAD~2")
    git(repo, "commit", "-qm", f"Backports (#7)\n\n{message}")
    states = {f: c.state(repo, f) for f in ("HDFS-9812", "YARN-4398")}
    c.row("2", "squash of two hpatch commits: status", None,
          " ".join(f"{k}={v}" for k, v in states.items()), "both applied",
          set(states.values()) == {"applied"})
    noted = c.noted(repo)
    c.row("2", "squash of two hpatch commits: notes", None, f"lists {noted}", "both listed",
          {"HDFS-9812", "YARN-4398"} <= set(noted))
    before = head(repo)
    ran = c.hp("revert", "HDFS-9812", "--repo", str(repo))
    files = [Path(f).name for f in touched(repo)] if head(repo) != before else []
    yarn = c.state(repo, "YARN-4398")
    c.row("2", "squash of two hpatch commits: revert HDFS-9812", ran,
          f"revert commit touches {files or 'nothing'}; YARN-4398 {yarn}",
          "exit 0, only DFSOutputStream.java; YARN-4398 stays applied",
          ran.code == 0 and files == ["DFSOutputStream.java"] and yarn == "applied")
    repo = c.fresh()
    c.hp("apply", "HDFS-9812", "--repo", str(repo))
    (repo / "OUR.txt").write_text("ours\n")
    git(repo, "add", "OUR.txt")
    git(repo, "commit", "-q", "--amend", "--no-edit")
    ran = c.hp("revert", "HDFS-9812", "--repo", str(repo))
    kept = (repo / "OUR.txt").exists() and "OUR.txt" in git(repo, "ls-files", "OUR.txt")
    fix_gone = "Hpatch-Revert: HDFS-9812" in trailers(repo)
    c.row("2", "user file amended into the hpatch commit: revert", ran,
          f"{ran.last}; OUR.txt {'kept' if kept else 'GONE'}",
          "OUR.txt kept; the fix taken out, or a one-line refusal",
          kept and ((ran.code == 0 and fix_gone) or (ran.code in (1, 2, 4) and not fix_gone)))


def item3(c: Campaign) -> None:
    a, b = c.fresh(), c.fresh()
    a_head = head(a)
    ran = c.hp("apply", "HDFS-9812", "--repo", str(b),
               env={"GIT_DIR": str(a / ".git"), "GIT_WORK_TREE": str(a)})
    a_moved = head(a) != a_head
    b_has = "Hpatch-Fix: HDFS-9812" in trailers(b)
    c.row("3", "GIT_DIR, GIT_WORK_TREE name repo A; apply --repo B", ran,
          f"A {'MOVED' if a_moved else 'unchanged'}; B {'applied' if b_has else 'not applied'}",
          "A unchanged, B applied", not a_moved and b_has and ran.code == 0)
    b = c.fresh()
    a_index = (a / ".git" / "index").read_bytes()
    ran = c.hp("apply", "HDFS-9812", "--repo", str(b),
               env={"GIT_INDEX_FILE": str(a / ".git" / "index"),
                    "GIT_OBJECT_DIRECTORY": str(a / ".git" / "objects")})
    fsck = subprocess.run(["git", "-C", str(b), "fsck", "--no-dangling"], capture_output=True,
                          check=False).returncode == 0
    clean = not git(b, "status", "--porcelain", "--untracked-files=no").strip()
    b_has = "Hpatch-Fix: HDFS-9812" in trailers(b)
    a_same = (a / ".git" / "index").read_bytes() == a_index
    c.row("3", "GIT_INDEX_FILE, GIT_OBJECT_DIRECTORY of A; apply --repo B", ran,
          f"{ran.last}; B fsck {'ok' if fsck else 'BROKEN'}, "
          f"{'clean' if clean else 'dirty'}; A's index {'same' if a_same else 'CHANGED'}",
          "B applied, consistent; A untouched", b_has and fsck and clean and a_same)
    b = c.fresh()
    a_head = head(a)
    ran = c.hp("apply", "HDFS-9812", "--repo", str(b), env={"GIT_COMMON_DIR": str(a / ".git")})
    a_said, a_ok = readable(lambda: "MOVED" if head(a) != a_head else "unchanged")
    b_said, b_ok = readable(lambda: "applied" if "Hpatch-Fix: HDFS-9812" in trailers(b)
                            else "not applied")
    c.row("3", "GIT_COMMON_DIR names repo A; apply --repo B", ran, f"A {a_said}; B {b_said}",
          "A unchanged, B applied",
          a_ok and b_ok and a_said == "unchanged" and b_said == "applied" and ran.code == 0)
    b = c.fresh()
    ran = c.hp("apply", "HDFS-9812", "--repo", str(b),
               env={"GIT_NAMESPACE": "elsewhere",
                    "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(a / ".git" / "objects")})
    b_has = "Hpatch-Fix: HDFS-9812" in git(b, "log", "-1", "--format=%B", BRANCH)
    spaced = git(b, "for-each-ref", "refs/namespaces").strip()
    fsck = subprocess.run(["git", "-C", str(b), "fsck", "--no-dangling"], capture_output=True,
                          check=False).returncode == 0
    c.row("3", "GIT_NAMESPACE, GIT_ALTERNATE_OBJECT_DIRECTORIES set; apply --repo B", ran,
          f"{ran.last}; branch {'has' if b_has else 'lacks'} the fix; "
          f"{'refs under refs/namespaces' if spaced else 'no namespaced refs'}; "
          f"fsck {'ok' if fsck else 'BROKEN'}",
          "B's branch applied, no namespaced refs, fsck ok",
          ran.code == 0 and b_has and not spaced and fsck)


def item4(c: Campaign) -> None:
    for flag in ("--skip-worktree", "--assume-unchanged"):
        repo = c.fresh()
        git(repo, "update-index", flag, HDFS_FILE)
        with (repo / HDFS_FILE).open("a") as fh:
            fh.write("// mine\n")
        ran = c.hp("apply", "HDFS-9812", "--repo", str(repo))
        kept = (repo / HDFS_FILE).read_text().endswith("// mine\n")
        c.row("4", f"{flag} file edited, then apply", ran,
              f"{ran.last}; edit {'kept' if kept else 'LOST'}",
              "edit kept; refused (uncommitted change)", kept and ran.code != 0)
    repo = c.fresh()
    c.hp("apply", "HDFS-9812", "--repo", str(repo))
    git(repo, "update-index", "--skip-worktree", HDFS_FILE)
    with (repo / HDFS_FILE).open("a") as fh:
        fh.write("// mine\n")
    ran = c.hp("revert", "HDFS-9812", "--repo", str(repo))
    kept = (repo / HDFS_FILE).read_text().endswith("// mine\n")
    c.row("4", "--skip-worktree file edited, then revert", ran,
          f"{ran.last}; edit {'kept' if kept else 'LOST'}",
          "edit kept; refused (uncommitted change)", kept and ran.code != 0)


def item5(c: Campaign) -> None:
    def steps(ran: Ran) -> list[dict[str, Any]]:
        data, _ = yaml_load(ran.out)
        try:
            return list(data["jobs"]["hpatch"]["steps"])
        except (TypeError, KeyError):
            return []

    ran = c.hp("ci", "--emit", "github-actions", "--branches", "feat$(id)", "--install-from", "x")
    runs = " ".join(str(s.get("run", "")) for s in steps(ran))
    inline = "${{" in runs
    c.row("5", "github: branch `feat$(id)`", ran,
          "branch pasted into a run: line (${{ }})" if inline else "through env: only",
          "no ${{ }} in run: lines", ran.code == 0 and bool(runs) and not inline)
    ran = c.hp("ci", "--emit", "github-actions", "--install", "pip install x\n- run: evil")
    data, bad = yaml_load(ran.out)
    extra = "evil" in json.dumps(data) if data is not None else False
    c.row("5", "--install with a newline", ran,
          (f"invalid YAML ({bad})" if bad else "a step of its own" if extra else "written")
          if ran.code == 0 else ran.last,
          "refused in one line (exit 2)", ran.code == 2 and not ran.out.strip())
    ran = c.hp("ci", "--emit", "github-actions", "--install-from", "/opt/hp #x")
    step = next((s for s in steps(ran) if "/opt/hp" in json.dumps(s)), {})
    sh = str(step.get("run", ""))
    safe = "/opt/hp #x" not in sh and "/opt/hp #x" in json.dumps(step.get("env", {}))
    c.row("5", "--install-from '/opt/hp #x'", ran, f"run: {sh!r} env: {step.get('env')}",
          "value through env, quoted in run:", ran.code == 0 and safe)
    ran = c.hp("ci", "--emit", "gitlab", "--install", 'pip install "a: b"', "--releases", RELEASE)
    data, bad = yaml_load(ran.out)
    intact = data is not None and 'pip install "a: b"' in json.dumps(data.get("hpatch", {}),
                                                                      ensure_ascii=False) \
        .replace('\\"', '"')
    c.row("5", "gitlab: ': ' in --install", ran,
          f"YAML error {bad}" if bad else "valid YAML, value intact" if intact
          else "valid YAML, value changed", "valid YAML, value intact", ran.code == 0 and intact)
    ran = c.hp("ci", "--emit", "gitlab", "--matrix-args", "--jobs 2 # fast", "--releases", RELEASE)
    data, bad = yaml_load(ran.out)
    script = " ".join(data["hpatch"]["script"]) if isinstance(data, dict) else ""
    c.row("5", "gitlab: --matrix-args '--jobs 2 # fast'", ran,
          "--junit-xml kept" if "--junit-xml" in script else f"--junit-xml dropped: {script}",
          "--junit-xml kept (or refused)",
          (ran.code == 0 and "--junit-xml" in script) or ran.code == 2)


def item6(c: Campaign) -> None:
    repo = c.fresh()
    git(repo, "config", "diff.noprefix", "true")
    git(repo, "config", "color.ui", "always")
    c.hp("apply", "HDFS-9812", "--repo", str(repo))
    ran = c.hp("revert", "HDFS-9812", "--repo", str(repo))
    c.row("6", "diff.noprefix + color.ui=always: revert", ran, ran.last, "exit 0, reverted",
          ran.code == 0 and "Hpatch-Revert: HDFS-9812" in trailers(repo))
    repo = c.fresh()
    driver = c.work / "diff-driver.sh"
    driver.write_text("#!/bin/sh\necho 'not a diff'\n")
    driver.chmod(0o755)
    for key, value in (("diff.external", str(driver)), ("diff.mnemonicPrefix", "true"),
                       ("diff.renames", "copies"), ("color.diff", "always")):
        git(repo, "config", key, value)
    c.hp("apply", "HDFS-9812", "--repo", str(repo))
    ran = c.hp("revert", "HDFS-9812", "--repo", str(repo))
    c.row("6", "diff.external, mnemonicPrefix, renames=copies, color.diff: revert", ran,
          ran.last, "exit 0, reverted",
          ran.code == 0 and "Hpatch-Revert: HDFS-9812" in trailers(repo))
    repo = c.fresh()
    from_env = {"GIT_CONFIG_COUNT": "2", "GIT_CONFIG_KEY_0": "diff.noprefix",
                "GIT_CONFIG_VALUE_0": "true", "GIT_CONFIG_KEY_1": "color.ui",
                "GIT_CONFIG_VALUE_1": "always", "GIT_EXTERNAL_DIFF": str(driver)}
    c.hp("apply", "HDFS-9812", "--repo", str(repo))
    ran = c.hp("revert", "HDFS-9812", "--repo", str(repo), env=from_env)
    c.row("6", "noprefix, color from GIT_CONFIG_*; GIT_EXTERNAL_DIFF: revert", ran, ran.last,
          "exit 0, reverted", ran.code == 0 and "Hpatch-Revert: HDFS-9812" in trailers(repo))
    repo = c.fresh()
    git(repo, "config", "diff.noprefix", "true")
    git(repo, "config", "color.ui", "always")
    path = repo / YARN_FILE
    text = path.read_text()
    text = text.replace("  public synchronized void updateApplicationState(",
                        "  // local change near the fix\n"
                        "  public synchronized void updateApplicationState(")
    text = text.replace('  @SuppressWarnings("unchecked")\n  public synchronized void '
                        'storeNewApplication(',
                        '  @SuppressWarnings({"unchecked", "rawtypes"})\n  public synchronized '
                        'void storeNewApplication(')
    path.write_text(text)
    git(repo, "commit", "-qam", "local edits near YARN-4398")
    catalog = c.work / "catalog-refresh"
    shutil.rmtree(catalog, ignore_errors=True)
    shutil.copytree(c.code / "patches", catalog)
    before = c.state(repo, "YARN-4398")
    ran = c.hp("refresh", "YARN-4398", "--repo", str(repo), env={"HPATCH_CATALOG": str(catalog)})
    c.row("6", "diff.noprefix: refresh of a conflicting fix", ran,
          f"YARN-4398 was {before}; {ran.last}", "exit 0, a variant written",
          before == "conflict" and ran.code == 0 and "wrote" in ran.out + ran.err)


def item7(c: Campaign) -> None:
    for verb, hook in (("apply", "edit"), ("revert", "edit-revert")):
        repo = c.fresh()
        if verb == "revert":
            c.hp("apply", "HDFS-9812", "--repo", str(repo))
        env = c.paused_git(hook, f"sleep 2; echo '// saved meanwhile' >> {repo / HDFS_FILE}")
        ran = c.hp(verb, "HDFS-9812", "--repo", str(repo), env=env)
        came = (c.work / f"{hook}.done").exists()
        kept = (repo / HDFS_FILE).read_text().endswith("// saved meanwhile\n")
        c.row("7", f"an edit saved while {verb} runs (a git paused 2 s)", ran,
              f"{ran.last}; edit {'kept' if kept else 'LOST'}"
              + ("" if came else "; the pause never came"),
              f"edit kept ({verb} refuses)", came and kept)


def item8(c: Campaign) -> None:
    repo = c.fresh()
    target = repo / HDFS_FILE
    env = c.paused_git("lock", f"chattr +i {target}")
    try:
        ran = c.hp("apply", "HDFS-9812", "--repo", str(repo), env=env)
    finally:
        subprocess.run(["chattr", "-i", str(target)], check=False)
    came = (c.work / "lock.done").exists()
    staged = git(repo, "diff", "--cached", "--name-only").split()
    recover = c.hp("recover", "--repo", str(repo))
    c.row("8", "a touched file cannot be written (chattr +i)", ran,
          f"{ran.last}; staged {[Path(s).name for s in staged] or 'nothing'}; "
          f"recover: {recover.last}" + ("" if came else "; the lock never came"),
          "exit 1, nothing staged", came and ran.code == 1 and not staged)


def item9(c: Campaign) -> None:
    d = c.work / "diag"
    d.mkdir(exist_ok=True)
    text = LOG.read_text()
    for name, args, expected_code in (("a missing file", [str(d / "missing.log")], 66),
                                      ("a directory", [str(d)], 66)):
        ran = c.hp("diagnose", *args)
        c.row("9", f"diagnose {name}", ran, ran.last, f"exit {expected_code}, one line",
              ran.code == expected_code)
    ran = c.hp("diagnose", "-", stdin=text)
    named = "HDFS-6364" in ran.out
    c.row("9", "diagnose - (a log on stdin)", ran,
          "HDFS-6364 named" if named else ran.last, "exit 1, HDFS-6364 named",
          ran.code == 1 and named)
    (d / "utf16.log").write_bytes(text.encode("utf-16"))
    (d / "log.bz2").write_bytes(bz2.compress(text.encode()))
    (d / "rotated.log.1").write_bytes(gzip.compress(text.encode()))
    (d / "log.xz").write_bytes(lzma.compress(text.encode()))
    (d / "utf16le.log").write_bytes(text.encode("utf-16-le"))
    (d / "utf32.log").write_bytes(text.encode("utf-32"))
    ran = c.hp("diagnose", "-", stdin=gzip.compress(text.encode()))
    named = "HDFS-6364" in ran.out
    c.row("9", "diagnose - (a gzip log on stdin)", ran,
          "HDFS-6364 named" if named else ran.last, "exit 1, HDFS-6364 named",
          ran.code == 1 and named)
    for name, file in (("a UTF-16 log", "utf16.log"), ("a .bz2 log", "log.bz2"),
                       ("a gzip log not named *.gz", "rotated.log.1"), ("an .xz log", "log.xz"),
                       ("a UTF-16LE log without a BOM", "utf16le.log"),
                       ("a UTF-32 log", "utf32.log")):
        ran = c.hp("diagnose", str(d / file))
        named = "HDFS-6364" in ran.out
        c.row("9", f"diagnose {name}", ran, "HDFS-6364 named" if named else ran.last,
              "exit 1, HDFS-6364 named", ran.code == 1 and named)


def item10(c: Campaign) -> None:
    cell = c.work / "runs" / "r1" / "HDFS-9812" / RELEASE
    cell.mkdir(parents=True, exist_ok=True)
    (cell / "result.json").write_text('{"fix": "HDFS-9812", "release": "2.4.1", "verd')
    ran = c.hp("report", "r1")
    c.row("10", "report of a truncated result.json", ran, ran.last, "exit 1, one line",
          ran.code == 1 and len(ran.err.strip().splitlines()) == 1)


def item11(c: Campaign) -> None:
    cache = c.work / "cache11"

    def builds(corrupt: bool = False) -> Path:
        root = cache / "builds"
        shutil.rmtree(root, ignore_errors=True)
        for key, version in (("a", "2.4.1"), ("b", "2.7.3")):
            (root / (key * 24)).mkdir(parents=True)
            (root / (key * 24) / "entry.json").write_text(
                json.dumps({"version": version, "jars": {}, "native": False}))
        if corrupt:
            (root / ("c" * 24)).mkdir()
            (root / ("c" * 24) / "entry.json").write_text('{"vers')
        return root

    env = {"HPATCH_CACHE": str(cache)}
    for opt in ("--max-size", "--older-than"):
        root = builds()
        ran = c.hp("cache", "prune", opt, "-1", env=env)
        gone = 2 - len(list(root.iterdir()))
        c.row("11", f"cache prune {opt} -1", ran, f"{gone} of 2 builds removed; {ran.last}",
              "refused (exit 2), nothing removed", ran.code == 2 and gone == 0)
    builds(corrupt=True)
    ran = c.hp("cache", "ls", env=env)
    c.row("11", "cache ls with a corrupt entry.json", ran,
          "listed as damaged" if "damaged" in ran.out else ran.last,
          "exit 0, the entry listed as damaged", ran.code == 0 and "damaged" in ran.out)
    root = builds(corrupt=True)
    ran = c.hp("cache", "prune", env=env)
    corrupt_gone = not (root / ("c" * 24)).exists()
    c.row("11", "cache prune with a corrupt entry.json", ran,
          f"the corrupt entry {'removed' if corrupt_gone else 'left'}; {ran.last}",
          "exit 0, the corrupt entry removed", ran.code == 0 and corrupt_gone)
    builds()
    ran = c.hp("cache", "ls", env={**env, "HPATCH_BUILD_CACHE_MAX": "inf"})
    c.row("11", "HPATCH_BUILD_CACHE_MAX=inf: cache ls", ran, ran.last, "exit 1, one line",
          ran.code == 1 and len(ran.err.strip().splitlines()) == 1)


def item12(c: Campaign) -> None:
    catalog = c.work / "catalog12"

    def copy() -> dict[str, str]:
        shutil.rmtree(catalog, ignore_errors=True)
        shutil.copytree(c.code / "patches", catalog)
        return {"HPATCH_CATALOG": str(catalog)}

    env = copy()
    variants = catalog / "HDFS-9812" / "variants.toml"
    variants.write_text(variants.read_text().replace('"variants/2.3.patch"',
                                                     '"../YARN-4398/variants/2.4.patch"'))
    ran = c.hp("lint", env=env)
    c.row("12", "variant patch ../YARN-4398/…: lint", ran,
          "passes" if ran.code == 0 else ran.last, "lint fails", ran.code == 1)
    repo = c.fresh()
    ran = c.hp("apply", "HDFS-9812", "--repo", str(repo), env=env)
    files = [Path(f).name for f in touched(repo)] if "Hpatch-Fix" in trailers(repo) else []
    c.row("12", "variant patch ../YARN-4398/…: apply HDFS-9812", ran,
          f"{ran.last}; committed {files or 'nothing'}", "refused; nothing committed",
          ran.code != 0 and not files)
    env = copy()
    subprocess.run(["git", "init", "-q", str(catalog)], check=True)
    (catalog / ".github" / "workflows").mkdir(parents=True)
    ran = c.hp("lint", env=env)
    c.row("12", "catalog kept in git (.git, .github): lint", ran, ran.last, "exit 0",
          ran.code == 0)
    env = copy()
    (catalog / "HDFS-6364" / "fix.toml").unlink()
    (catalog / "HDFS-6364" / "fix.toml").mkdir()
    ran = c.hp("list", "--json", env=env)
    c.row("12", "fix.toml is a directory: list", ran,
          f"{len(json.loads(ran.out))} fixes listed, HDFS-6364 missing" if ran.code == 0
          else ran.last, "exit 1, names the file", ran.code == 1 and "fix.toml" in ran.last)


def item13(c: Campaign) -> None:
    afile = c.work / "a-file"
    afile.write_text("x")
    ran = c.hp("status", "--release", RELEASE, env={"HPATCH_CACHE": str(afile)})
    c.row("13", "HPATCH_CACHE naming a file", ran, ran.last, "exit 1, one line, no traceback",
          ran.code == 1)


def item14(c: Campaign) -> None:
    repo = c.fresh()
    git(repo, "checkout", "-q", "--orphan", "fresh")
    empty = c.work / "empty"
    shutil.rmtree(empty, ignore_errors=True)
    git(c.work, "init", "-q", str(empty))
    shutil.copy(repo / "pom.xml", empty / "pom.xml")
    for name, where in (("an orphan branch", repo), ("an empty repository", empty)):
        text = c.hp("status", "--repo", str(where))
        ran = c.hp("status", "--repo", str(where), "--json")
        try:
            said = f"head: {json.loads(ran.out)['head']}"
        except (ValueError, KeyError):
            said = ran.last
        c.row("14", f"status --json on {name}", ran, f"text exit {text.code}; {said}",
              "exit 0 as in text mode, head null", ran.code == 0 and text.code == 0)


def item15(c: Campaign) -> None:
    repo = c.fresh()
    git(repo, "sparse-checkout", "set", "--no-cone", "/pom.xml", "/hadoop-common-project/")
    if (repo / HDFS_FILE).exists():
        c.row("15", "sparse checkout", None, "git left the file in place: no sparse checkout",
              "-", False)
        return
    ran = c.hp("status", "--repo", str(repo))
    line = next((ln for ln in ran.out.splitlines() if ln.startswith("HDFS-9812")), ran.last)
    c.row("15", "sparse checkout without hadoop-hdfs: status", ran,
          f"{line.split()[1] if line.split() else ''}; 'deleted' said "
          f"{(ran.out + ran.err).count('deleted')} times",
          "HDFS-9812 applicable; no 'deleted'",
          "deleted" not in ran.out + ran.err and " applicable " in f" {line} ")
    before = head(repo)
    ran = c.hp("apply", "HDFS-9812", "--repo", str(repo))
    c.row("15", "sparse checkout without hadoop-hdfs: apply", ran, ran.last,
          "exit 1 naming `git sparse-checkout add` (README: States); nothing committed",
          ran.code == 1 and "sparse-checkout add" in ran.last and head(repo) == before)
    git(repo, "sparse-checkout", "add", "/hadoop-hdfs-project/")
    ran = c.hp("apply", "HDFS-9812", "--repo", str(repo))
    c.row("15", "sparse checkout, hadoop-hdfs added back: apply", ran, ran.last,
          "exit 0, applied", ran.code == 0 and "Hpatch-Fix: HDFS-9812" in trailers(repo))


def item16(c: Campaign) -> None:
    repo = c.fresh()
    for name, args in (("list > /dev/full", ["list"]),
                       ("status --json > /dev/full", ["status", "--json", "--repo", str(repo)])):
        with open("/dev/full", "wb") as full:
            ran = c.hp(*args, stdout=full)
        c.row("16", name, ran, ran.last, "exit 1, one line", ran.code == 1)
    out = c.work / "wf"
    out.mkdir(exist_ok=True)
    ran = c.hp("ci", "--emit", "gitlab", "--output", str(out))
    c.row("16", "ci --output naming a directory", ran, ran.last, "exit 1 or 2, one line",
          ran.code in (1, 2))


def item17(c: Campaign) -> None:
    repo = c.fresh()
    env = c.paused_git("pause", "sleep 6")
    child = c.popen("apply", "HDFS-9812", "--repo", str(repo), env=env)
    try:
        deadline = time.monotonic() + 120
        while not (c.work / "pause.done").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        ran = c.hp("status", "--repo", str(repo))
    finally:
        child.wait(timeout=TIMEOUT)
    said = next((ln for ln in ran.err.splitlines() if "apply" in ln), ran.last)
    c.row("17", "status while apply HDFS-9812 runs", ran, said,
          "in progress, names `apply HDFS-9812`",
          "in progress" in said and "HDFS-9812" in said and "interrupted" not in said)


def item18(c: Campaign) -> None:
    repo = c.fresh()
    elsewhere = c.work / "elsewhere.java"
    shutil.copy(repo / HDFS_FILE, elsewhere)
    (repo / HDFS_FILE).unlink()
    (repo / HDFS_FILE).symlink_to(elsewhere)
    state = c.state(repo, "HDFS-9812")
    c.row("18", "a symlink in a touched file's place: status", None, f"HDFS-9812 {state}",
          "blocked", state == "blocked")
    ran = c.hp("apply", "HDFS-9812", "--repo", str(repo))
    link = (repo / HDFS_FILE).is_symlink() and elsewhere.read_bytes() == (
        c.base / HDFS_FILE).read_bytes()
    c.row("18", "a symlink in a touched file's place: apply", ran,
          f"{ran.last}; link and its target {'kept' if link else 'CHANGED'}",
          "refused; the link and its target kept", ran.code != 0 and link)


def item19(c: Campaign) -> None:
    repo = c.fresh()
    ran = c.hp("status", "--repo", str(repo), "--release", RELEASE)
    c.row("19", "status --repo X --release R", ran, ran.last, "exit 2, refused", ran.code == 2)


ITEMS: dict[str, Callable[[Campaign], None]] = {
    str(n): fn for n, fn in enumerate(
        (item1, item2, item3, item4, item5, item6, item7, item8, item9, item10, item11, item12,
         item13, item14, item15, item16, item17, item18, item19), start=1)}


# ---------------------------------------------------------------------------- output

HEADERS = ("item", "case", "exit", "outcome", "expected", "result")


def table(rows: Sequence[Row], fmt: str) -> str:
    return tabulate([(r.item, r.case, "-" if r.code is None else r.code, r.outcome, r.expected,
                      "pass" if r.passed else "FAIL") for r in rows], HEADERS, tablefmt=fmt)


def side_by_side(old: Sequence[Row], new: Sequence[Row]) -> str:
    def said(r: Row | None) -> tuple[str, str, str]:
        if r is None:
            return "-", "-", "(not run)"
        return "pass" if r.passed else "FAIL", "-" if r.code is None else str(r.code), r.outcome

    before = {(r.item, r.case): r for r in old}
    body = [(r.item, r.case, r.expected, *said(before.get((r.item, r.case))), *said(r))
            for r in new]
    return tabulate([[cell.replace("|", "\\|") for cell in line] for line in body],
                    ("item", "case", "expected", "old", "exit", "old outcome", "new", "exit",
                     "new outcome"), tablefmt="github", disable_numparse=True)


def load(path: Path) -> list[Row]:
    return [Row(**r) for r in json.loads(path.read_text())]


@dataclass(frozen=True)
class Options:
    code: Path
    checkout: Path | None
    work: Path | None
    items: list[str]


@contextlib.contextmanager
def workdir(opts: Options) -> Iterator[Path]:
    if opts.work:
        opts.work.mkdir(parents=True, exist_ok=True)
        yield opts.work.resolve()
        return
    tmp = Path(tempfile.mkdtemp(prefix="bad-input-campaign-"))
    try:
        yield tmp
    finally:
        subprocess.run(["chattr", "-R", "-i", str(tmp)], check=False, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


def run(opts: Options) -> list[Row]:
    with workdir(opts) as work:
        base = opts.checkout.resolve() if opts.checkout else work / "checkout-2.4.1"
        if not opts.checkout and not base.exists():
            print(f"making a {RELEASE} checkout with `hpatch source`…", file=sys.stderr)
            made = Campaign(opts.code, base, work).hp("source", RELEASE, str(base))
            if made.code:
                sys.exit(f"hpatch source {RELEASE} failed: {made.last}")
        campaign = Campaign(opts.code, base, work)
        for item in opts.items:
            print(f"item {item}…", file=sys.stderr)
            start = len(campaign.rows)
            try:
                ITEMS[item](campaign)
            except (OSError, RuntimeError, subprocess.SubprocessError, ValueError,
                    KeyError) as exc:
                campaign.rows.append(Row(item, "(the campaign could not run this item)", None,
                                         clip(f"{type(exc).__name__}: {exc}"), "-", False))
            for r in campaign.rows[start:]:
                print(f"  {'pass' if r.passed else 'FAIL'}  {r.case}", file=sys.stderr)
        return campaign.rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--code", type=Path, default=TREE)
    parser.add_argument("--checkout", type=Path)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--items", default=",".join(ITEMS))
    parser.add_argument("--json", type=Path, dest="json_out")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--side-by-side", nargs=2, type=Path, metavar=("OLD", "NEW"))
    args = parser.parse_args(argv)
    if args.side_by_side:
        print(side_by_side(load(args.side_by_side[0]), load(args.side_by_side[1])))
        return 0
    items = [i.strip() for i in args.items.split(",") if i.strip()]
    unknown = [i for i in items if i not in ITEMS]
    if unknown:
        parser.error(f"no such item: {', '.join(unknown)} (1-19)")
    rows = run(Options(args.code.resolve(), args.checkout, args.work, items))
    if args.json_out:
        args.json_out.write_text(json.dumps([asdict(r) for r in rows], indent=1,
                                            ensure_ascii=False) + "\n")
    print(table(rows, "github" if args.markdown else "simple"))
    failed = sum(not r.passed for r in rows)
    print(f"\n{len(rows)} cases, {len(rows) - failed} pass, {failed} fail "
          f"(code: {args.code.resolve()})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
