"""CI workflows, one job per release (the catalog's matrix on published
sources) or one job per maintained branch of a fork's own repository (verify
on that branch's checkout), so the work scales out on the team's CI. Each job
uploads its JUnit XML and run records and fails on anything that needs
attention.

The files are data written by hpatch.yamltext, never text with values pasted
in: a value cannot end a YAML scalar or start a key of its own. Values reach
the shell through environment variables, always double-quoted, or as single
shell words (shlex.quote); the `run:` and `script:` text holds no value a user
gave except the --install line, which is shell by definition. What cannot be
made safe (a line break, a GitHub `${{` expression, a `$` GitLab would expand)
is refused in one line.

With --shards N each job becomes N jobs, one per shard of the fixes
(`--shard I/N`, see hpatch.shard): branch (or release) x shard. Each shard job
writes and uploads its JUnit XML and run records under a name of its own. The
shard numbers are integers hpatch writes itself and reach the command through
the environment like every other value. A last job (one per branch with
--branches) runs whatever the shard jobs' outcome: it takes the shard jobs' run
records and makes one report of them with `hpatch report`, one JUnit XML file
and the exit code of the whole. Sharded branch jobs keep their records under
runs/<branch slug>/, so that each branch's report takes its own runs only."""

from __future__ import annotations

import hashlib
import re
import shlex
import unicodedata
from dataclasses import dataclass
from typing import Any

from hpatch import output, yamltext
from hpatch.errors import UsageError

GITHUB = "github-actions"
GITLAB = "gitlab"
EMITTERS = (GITHUB, GITLAB)
DEFAULT_INSTALL = "python3 -m pip install hpatch"
_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
# The most jobs one matrix may make: GitHub Actions' limit per workflow run, GitLab's
# per parallel:matrix.
MAX_JOBS = {GITHUB: 256, GITLAB: 200}


@dataclass(frozen=True)
class Install:
    """How a job installs hpatch: a shell line of the team's, or pip from a source."""

    line: str = DEFAULT_INSTALL
    source: str = ""  # --install-from: a path or URL; reaches pip as one quoted word

    def command(self, source_expr: str) -> str:
        return f"python3 -m pip install {source_expr}" if self.source else self.line


@dataclass(frozen=True)
class Job:
    """One matrix entry: the release or branch it checks, and a file-name-safe slug."""

    value: str
    slug: str


def install_line(install: str | None, install_from: str | None) -> Install:
    """How a job installs hpatch: given, from a path or URL the team names, or PyPI."""
    if install and install_from:
        raise UsageError("give --install or --install-from, not both")
    if install:
        return Install(line=install)
    if install_from:
        return Install(source=install_from)
    return Install()


def servable(releases: list[str]) -> tuple[list[str], list[str]]:
    """The releases a job can verify from published sources, and those it cannot."""
    from hpatch.sources import NO_SOURCES
    return [r for r in releases if r not in NO_SOURCES], [r for r in releases
                                                          if r in NO_SOURCES]


def emit(kind: str, releases: list[str], install: Install, extra_args: str, *,
         branches: list[str] | None = None, shards: int = 1) -> str:
    """The workflow file's text; UsageError for a value it cannot carry safely."""
    from hpatch.shard import MAX_SHARDS
    if not 1 <= shards <= MAX_SHARDS:
        raise UsageError(f"--shards must be 1 to {MAX_SHARDS}, not {shards}")
    count = len(branches or releases) * shards
    if count > MAX_JOBS[kind]:
        raise UsageError(f"{count} jobs ({len(branches or releases)} x {shards} shard(s)): "
                         f"{kind} runs at most {MAX_JOBS[kind]} from one matrix; give "
                         "fewer shards, releases or branches")
    _check_text("--install", install.line, kind)
    _check_text("--install-from", install.source, kind)
    extra = " ".join(shlex.quote(word) for word in matrix_words(extra_args, kind))
    if branches:
        for branch in branches:
            _check_branch(branch, kind)
        jobs = _jobs(branches)
        return (_github_branches if kind == GITHUB else _gitlab_branches)(
            jobs, install, extra, shards)
    for release in releases:
        _check_text("a release", release, kind)
    jobs = [Job(r, r) for r in releases]
    return (_github_releases if kind == GITHUB else _gitlab_releases)(
        jobs, install, extra, shards)


def _sharded(command: str, name: str, shards: int) -> tuple[str, str]:
    """The command and the result's name for a shard job; unchanged for one shard.
    $SHARD and $SHARDS come from the job's environment."""
    if shards == 1:
        return command.replace("{name}", name), name
    name = f"{name}-shard-$SHARD-of-$SHARDS"
    return command.replace("{name}", name).replace(
        " --junit-xml", ' --shard "$SHARD/$SHARDS" --junit-xml'), name


# -- what a value may hold -----------------------------------------------------------

def _check_text(what: str, value: str, kind: str) -> None:
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            raise UsageError(f"{what} holds a control character ({ch!r}): a line break or "
                             "the like would change the job's commands; give it on one line")
    if kind == GITHUB and "${{" in value:
        raise UsageError(f"{what} holds `${{{{`, which GitHub Actions would evaluate as an "
                         "expression in the workflow")


def _check_branch(branch: str, kind: str) -> None:
    _check_text(f"branch {branch!r}", branch, kind)
    if not branch.strip() or branch.startswith("-"):
        raise UsageError(f"branch {branch!r} is no branch name git takes")
    if kind == GITLAB and "$" in branch:
        raise UsageError(f"branch {branch!r} holds `$`: GitLab expands variables inside "
                         "matrix values, so it would not reach the job as written")


def matrix_words(text: str, kind: str) -> list[str]:
    """--matrix-args as the words a shell would make of them; a trailing `# comment`
    is dropped (with a note), as the shell would, and never swallows hpatch's own options."""
    _check_text("--matrix-args", text, kind)
    start = _comment_start(text)
    if start is not None:
        output.note(f"--matrix-args: left out the comment `{text[start:].strip()}`")
        text = text[:start]
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"--matrix-args: {exc} in {text!r}") from exc


def _comment_start(text: str) -> int | None:
    """Where a shell comment starts: an unquoted `#` at the start of a word."""
    quote = ""
    escaped = False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif quote:
            if ch == quote:
                quote = ""
            elif ch == "\\" and quote == '"':
                escaped = True
        elif ch == "\\":
            escaped = True
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1].isspace()):
            return i
    return None


def _jobs(branches: list[str]) -> list[Job]:
    """A slug per branch for file and artifact names: `/` and the like are not allowed
    there; a changed name gets a short hash so that two branches never share one."""
    jobs = []
    for branch in branches:
        slug = _SLUG_UNSAFE.sub("-", branch)
        if slug != branch:
            slug += "-" + hashlib.sha256(branch.encode()).hexdigest()[:8]
        jobs.append(Job(branch, slug))
    return jobs


# -- GitHub Actions ------------------------------------------------------------------

_GH_HEAD = [{"uses": "actions/checkout@v4"}]
_GH_PYTHON = {"uses": "actions/setup-python@v5", "with": {"python-version": "3.11"}}


def _gh_install(install: Install) -> dict[str, Any]:
    step: dict[str, Any] = {"name": "Install hpatch"}
    if install.source:
        step["env"] = {"INSTALL_FROM": install.source}
    step["run"] = install.command('"$INSTALL_FROM"')
    return step


def _gh_upload(name: str) -> dict[str, Any]:
    return {"name": "Keep the results", "if": "always()",
            "uses": "actions/upload-artifact@v4",
            "with": {"name": f"hpatch-{name}", "path": f"hpatch-{name}.xml\nruns/\n"}}


def _gh_shard(shards: int) -> tuple[dict[str, str], str, str]:
    """A shard job's environment, the suffix of its name and of its artifact's name."""
    if shards == 1:
        return {}, "", ""
    return ({"SHARD": "${{ matrix.shard }}", "SHARDS": str(shards)},
            f" shard ${{{{ matrix.shard }}}}/{shards}",
            f"-shard-${{{{ matrix.shard }}}}-of-{shards}")


def _report_script(runs: str, junit: str) -> list[str]:
    """Shell lines: `hpatch report` over the run directories the glob `runs` finds (a
    shard with nothing to verify left none)."""
    return ["set --",
            f'for run in {runs}; do if [ -d "$run" ]; then set -- "$@" "$run"; fi; done',
            'if [ "$#" -eq 0 ]; then echo "hpatch: error: no shard left run records" >&2; '
            'exit 1; fi',
            f'hpatch report --junit-xml "{junit}" -- "$@"']


def _gh_report(install: Install, artifacts: str, runs: str, name: str,
               matrix: dict[str, Any]) -> dict[str, Any]:
    """The job after the shard jobs: their artifacts downloaded, one report made.
    Its artifact's name does not start with `hpatch-`, so no shard's can be it."""
    junit = "hpatch-report-$BRANCH_SLUG.xml" if matrix else "hpatch-report.xml"
    job: dict[str, Any] = {
        "name": "hpatch report" + (" ${{ matrix.branch }}" if matrix else ""),
        "needs": "hpatch", "if": "always()", "runs-on": "ubuntu-latest",
        "timeout-minutes": 30}
    if matrix:
        job["strategy"] = {"fail-fast": False, "matrix": matrix}
    job["steps"] = [
        _GH_PYTHON, _gh_install(install),
        {"name": "Fetch the shards' results", "uses": "actions/download-artifact@v4",
         "with": {"pattern": artifacts, "path": "shards"}},
        {"name": "One report of the shards",
         **({"env": {"BRANCH_SLUG": "${{ matrix.slug }}"}} if matrix else {}),
         "run": "\n".join(_report_script(runs, junit)) + "\n"},
        {"name": "Keep the report", "if": "always()", "uses": "actions/upload-artifact@v4",
         "with": {"name": name, "path": junit.replace("$BRANCH_SLUG", "${{ matrix.slug }}")}}]
    return job


def _github_releases(jobs: list[Job], install: Install, extra: str, shards: int) -> str:
    run, _ = _sharded('hpatch matrix --releases "$RELEASE" --verify --junit-xml '
                      '"hpatch-{name}.xml"', "$RELEASE", shards)
    env, title, artifact = _gh_shard(shards)
    steps = [*_GH_HEAD, _GH_PYTHON, _gh_install(install),
             {"name": "Matrix for ${{ matrix.release }}" + title,
              "env": {"RELEASE": "${{ matrix.release }}", **env},
              "run": _joined(run, extra)},
             _gh_upload("${{ matrix.release }}" + artifact)]
    matrix: dict[str, Any] = {"release": [j.value for j in jobs]}
    if shards > 1:
        matrix["shard"] = list(range(1, shards + 1))
    workflow: dict[str, Any] = {
        "name": "hpatch matrix",
        "on": {"push": None, "pull_request": None, "workflow_dispatch": None},
        "jobs": {"hpatch": {
            "name": "hpatch ${{ matrix.release }}" + title, "runs-on": "ubuntu-latest",
            "timeout-minutes": 90,
            "strategy": {"fail-fast": False, "matrix": matrix},
            "steps": steps}}}
    if shards > 1:
        workflow["jobs"]["report"] = _gh_report(install, "hpatch-*", "shards/*/runs/*/",
                                                "report", {})
    per = f" x {shards} shards of the fixes, then one report" if shards > 1 else ""
    return yamltext.dump(workflow, header="Generated by `hpatch ci --emit github-actions`: "
                                          f"one job per Hadoop release{per}.")


def _github_branches(jobs: list[Job], install: Install, extra: str, shards: int) -> str:
    run, _ = _sharded('hpatch verify --repo . --junit-xml "hpatch-{name}.xml"',
                      "$BRANCH_SLUG", shards)
    env, title, artifact = _gh_shard(shards)
    steps = [{"uses": "actions/checkout@v4",
              "with": {"ref": "${{ matrix.branch }}", "fetch-depth": 0}},
             _GH_PYTHON, _gh_install(install),
             {"name": "Verify ${{ matrix.branch }}" + title,
              "env": {"BRANCH_SLUG": "${{ matrix.slug }}", **env,
                      **({"HPATCH_RUNS": "runs/${{ matrix.slug }}"} if shards > 1 else {})},
              "run": _joined(run, extra)},
             _gh_upload("${{ matrix.slug }}" + artifact)]
    # Every entry spelled out: `include` entries cannot be crossed with a shard list.
    include: list[dict[str, Any]] = [
        {"branch": j.value, "slug": j.slug, **({"shard": i} if shards > 1 else {})}
        for j in jobs for i in range(1, shards + 1)]
    workflow: dict[str, Any] = {
        "name": "hpatch verify",
        "on": {"push": None, "schedule": [{"cron": "17 3 * * *"}], "workflow_dispatch": None},
        "jobs": {"hpatch": {
            "name": "hpatch ${{ matrix.branch }}" + title, "runs-on": "ubuntu-latest",
            "timeout-minutes": 180,
            "strategy": {"fail-fast": False, "matrix": {"include": include}},
            "steps": steps}}}
    if shards > 1:
        workflow["jobs"]["report"] = _gh_report(
            install, "hpatch-${{ matrix.slug }}-shard-*", 'shards/*/runs/"$BRANCH_SLUG"/*/',
            "report-${{ matrix.slug }}", {"include": [{"branch": j.value, "slug": j.slug}
                                                      for j in jobs]})
    per = (f" and shard of its fixes ({shards} shards);\neach verifies them"
           if shards > 1 else "; each verifies the fixes")
    return yamltext.dump(workflow, header=(
        "Generated by `hpatch ci --emit github-actions --branches`: one job per branch of\n"
        f"this repository{per} on that branch's own code."))


# -- GitLab --------------------------------------------------------------------------

_GL_PACKAGES = "apk add --no-cache python3 py3-pip git maven openjdk8 bash"
_GL_REPORT_PACKAGES = "apk add --no-cache python3 py3-pip git"  # reading records only


def _gitlab_job(matrix: list[dict[str, Any]], before: list[str], script: str, name: str,
                *, minutes: int, variables: dict[str, str], shards: int = 1) -> dict[str, Any]:
    if shards > 1:
        variables = {**variables, "SHARDS": str(shards)}
        matrix = [{**entry, "SHARD": [str(i) for i in range(1, shards + 1)]}
                  for entry in matrix]
    artifacts: dict[str, Any] = {"name": f"hpatch-{name}"} if shards > 1 else {}
    artifacts |= {"when": "always", "reports": {"junit": f"hpatch-{name}.xml"},
                  "paths": [f"hpatch-{name}.xml", "runs/"]}
    return {"stage": "verify", "image": "docker:27", "services": ["docker:27-dind"],
            "variables": {"DOCKER_HOST": "tcp://docker:2375", "DOCKER_TLS_CERTDIR": "",
                          **variables},
            "timeout": f"{minutes}m", "parallel": {"matrix": matrix},
            "before_script": [_GL_PACKAGES, *before], "script": [script],
            "artifacts": artifacts}


def _gitlab_report(matrix: list[dict[str, Any]], before: list[str], runs: str,
                   junit: str) -> dict[str, Any]:
    """The job after the shard jobs: GitLab hands it their artifacts (`needs`), so their
    runs/ are here; one report made of them. Its JUnit XML is kept as a file, not as a
    report of the pipeline, which already counts each shard's."""
    job: dict[str, Any] = {"stage": "report", "image": "docker:27", "needs": ["hpatch"],
                           "when": "always", "timeout": "30m"}
    if matrix:
        job["parallel"] = {"matrix": matrix}
    return {**job, "before_script": [_GL_REPORT_PACKAGES, *before],
            "script": _report_script(runs, junit),
            "artifacts": {"when": "always", "paths": [junit]}}


def _gl_install(install: Install) -> str:
    # Not a variable: GitLab would expand a `$` in it; one quoted shell word instead.
    return install.command(shlex.quote(install.source))


def _gitlab_releases(jobs: list[Job], install: Install, extra: str, shards: int) -> str:
    script, name = _sharded('hpatch matrix --releases "$RELEASE" --verify --junit-xml '
                            '"hpatch-{name}.xml"', "$RELEASE", shards)
    job = _gitlab_job([{"RELEASE": [j.value for j in jobs]}], [_gl_install(install)],
                      _joined(script, extra), name, minutes=90, variables={}, shards=shards)
    workflow: dict[str, Any] = {"stages": ["verify"], "hpatch": job}
    if shards > 1:
        workflow["stages"] = ["verify", "report"]
        workflow["hpatch-report"] = _gitlab_report([], [_gl_install(install)], "runs/*/",
                                                   "hpatch-report.xml")
    per = f" x {shards} shards of the fixes, then one report" if shards > 1 else ""
    return yamltext.dump(workflow, header=(
        f"Generated by `hpatch ci --emit gitlab`: one job per Hadoop release{per}."))


def _gitlab_branches(jobs: list[Job], install: Install, extra: str, shards: int) -> str:
    fetch = 'git fetch origin "$BRANCH" && git checkout -B "$BRANCH" FETCH_HEAD'
    script, name = _sharded('hpatch verify --repo . --junit-xml "hpatch-{name}.xml"',
                            "$BRANCH_SLUG", shards)
    branches = [{"BRANCH": j.value, "BRANCH_SLUG": j.slug} for j in jobs]
    job = _gitlab_job(branches, [_gl_install(install), fetch], _joined(script, extra), name,
                      minutes=180, variables={"GIT_DEPTH": "0"}, shards=shards)
    workflow: dict[str, Any] = {"stages": ["verify"], "hpatch": job}
    if shards > 1:
        job["script"] = ['export HPATCH_RUNS="runs/$BRANCH_SLUG"', *job["script"]]
        workflow["stages"] = ["verify", "report"]
        workflow["hpatch-report"] = _gitlab_report(
            branches, [_gl_install(install)], 'runs/"$BRANCH_SLUG"/*/',
            "hpatch-report-$BRANCH_SLUG.xml")
    per = f" and shard of its fixes ({shards} shards);\neach verifies them" \
        if shards > 1 else "; each verifies the fixes"
    return yamltext.dump(workflow, header=(
        f"Generated by `hpatch ci --emit gitlab --branches`: one job per branch of this\n"
        f"repository{per} on that branch's own code."))


def _joined(command: str, extra: str) -> str:
    return f"{command} {extra}" if extra else command

