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
is refused in one line."""

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
         branches: list[str] | None = None) -> str:
    """The workflow file's text; UsageError for a value it cannot carry safely."""
    _check_text("--install", install.line, kind)
    _check_text("--install-from", install.source, kind)
    extra = " ".join(shlex.quote(word) for word in matrix_words(extra_args, kind))
    if branches:
        for branch in branches:
            _check_branch(branch, kind)
        jobs = _jobs(branches)
        return (_github_branches if kind == GITHUB else _gitlab_branches)(jobs, install, extra)
    for release in releases:
        _check_text("a release", release, kind)
    jobs = [Job(r, r) for r in releases]
    return (_github_releases if kind == GITHUB else _gitlab_releases)(jobs, install, extra)


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


def _github_releases(jobs: list[Job], install: Install, extra: str) -> str:
    run = 'hpatch matrix --releases "$RELEASE" --verify --junit-xml "hpatch-$RELEASE.xml"'
    steps = [*_GH_HEAD, _GH_PYTHON, _gh_install(install),
             {"name": "Matrix for ${{ matrix.release }}",
              "env": {"RELEASE": "${{ matrix.release }}"},
              "run": _joined(run, extra)},
             _gh_upload("${{ matrix.release }}")]
    workflow = {
        "name": "hpatch matrix",
        "on": {"push": None, "pull_request": None, "workflow_dispatch": None},
        "jobs": {"hpatch": {
            "name": "hpatch ${{ matrix.release }}", "runs-on": "ubuntu-latest",
            "timeout-minutes": 90,
            "strategy": {"fail-fast": False, "matrix": {"release": [j.value for j in jobs]}},
            "steps": steps}}}
    return yamltext.dump(workflow, header="Generated by `hpatch ci --emit github-actions`: "
                                          "one job per Hadoop release.")


def _github_branches(jobs: list[Job], install: Install, extra: str) -> str:
    run = 'hpatch verify --repo . --junit-xml "hpatch-$BRANCH_SLUG.xml"'
    steps = [{"uses": "actions/checkout@v4",
              "with": {"ref": "${{ matrix.branch }}", "fetch-depth": 0}},
             _GH_PYTHON, _gh_install(install),
             {"name": "Verify ${{ matrix.branch }}",
              "env": {"BRANCH_SLUG": "${{ matrix.slug }}"},
              "run": _joined(run, extra)},
             _gh_upload("${{ matrix.slug }}")]
    workflow = {
        "name": "hpatch verify",
        "on": {"push": None, "schedule": [{"cron": "17 3 * * *"}], "workflow_dispatch": None},
        "jobs": {"hpatch": {
            "name": "hpatch ${{ matrix.branch }}", "runs-on": "ubuntu-latest",
            "timeout-minutes": 180,
            "strategy": {"fail-fast": False, "matrix": {
                "include": [{"branch": j.value, "slug": j.slug} for j in jobs]}},
            "steps": steps}}}
    return yamltext.dump(workflow, header=(
        "Generated by `hpatch ci --emit github-actions --branches`: one job per branch of\n"
        "this repository; each verifies the fixes on that branch's own code."))


# -- GitLab --------------------------------------------------------------------------

_GL_PACKAGES = "apk add --no-cache python3 py3-pip git maven openjdk8 bash"


def _gitlab_job(matrix: list[dict[str, Any]], before: list[str], script: str, name: str,
                *, minutes: int, variables: dict[str, str]) -> dict[str, Any]:
    return {"stage": "verify", "image": "docker:27", "services": ["docker:27-dind"],
            "variables": {"DOCKER_HOST": "tcp://docker:2375", "DOCKER_TLS_CERTDIR": "",
                          **variables},
            "timeout": f"{minutes}m", "parallel": {"matrix": matrix},
            "before_script": [_GL_PACKAGES, *before], "script": [script],
            "artifacts": {"when": "always", "reports": {"junit": f"hpatch-{name}.xml"},
                          "paths": [f"hpatch-{name}.xml", "runs/"]}}


def _gl_install(install: Install) -> str:
    # Not a variable: GitLab would expand a `$` in it; one quoted shell word instead.
    return install.command(shlex.quote(install.source))


def _gitlab_releases(jobs: list[Job], install: Install, extra: str) -> str:
    script = 'hpatch matrix --releases "$RELEASE" --verify --junit-xml "hpatch-$RELEASE.xml"'
    job = _gitlab_job([{"RELEASE": [j.value for j in jobs]}], [_gl_install(install)],
                      _joined(script, extra), "$RELEASE", minutes=90, variables={})
    return yamltext.dump({"stages": ["verify"], "hpatch": job}, header=(
        "Generated by `hpatch ci --emit gitlab`: one job per Hadoop release."))


def _gitlab_branches(jobs: list[Job], install: Install, extra: str) -> str:
    fetch = 'git fetch origin "$BRANCH" && git checkout -B "$BRANCH" FETCH_HEAD'
    script = 'hpatch verify --repo . --junit-xml "hpatch-$BRANCH_SLUG.xml"'
    job = _gitlab_job([{"BRANCH": j.value, "BRANCH_SLUG": j.slug} for j in jobs],
                      [_gl_install(install), fetch], _joined(script, extra), "$BRANCH_SLUG",
                      minutes=180, variables={"GIT_DEPTH": "0"})
    return yamltext.dump({"stages": ["verify"], "hpatch": job}, header=(
        "Generated by `hpatch ci --emit gitlab --branches`: one job per branch of this\n"
        "repository; each verifies the fixes on that branch's own code."))


def _joined(command: str, extra: str) -> str:
    return f"{command} {extra}" if extra else command

