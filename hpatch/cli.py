"""The command line. Callbacks only unpack options into the command functions.

Modules a verb needs are imported in its callback, so `hpatch --version` and
`hpatch list` do not pay for git, Docker or tables they never use."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from hpatch import __version__, interrupt, output
from hpatch.errors import (
    EXIT_BROKEN_PIPE,
    EXIT_BUG,
    EXIT_DATA_ERROR,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    HpatchError,
    UsageError,
)
from hpatch.paths import cache_dir

if TYPE_CHECKING:
    from hpatch import catalog as catalog_mod
    from hpatch.checkout import Checkout

F = TypeVar("F", bound=Callable[..., Any])

if TYPE_CHECKING:
    _Choice = click.Choice[str]
else:  # click.Choice takes a type parameter only from click 8.2 on
    _Choice = click.Choice


class RegistryChoice(_Choice):
    """A choice among a registry's names, read only when click needs them (help,
    a value to check), so start-up does not import the modules behind them."""

    def __init__(self, names: Callable[[], Iterable[str]]) -> None:
        self._names = names
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(self._names())

    @choices.setter
    def choices(self, _: Sequence[str]) -> None:
        """click's own __init__ sets it; the registry stays the source."""


class HiddenAlias(click.Option):
    """An option whose first name is shown; its other names are old spellings that
    still work (`--version` of a subcommand, now `--release`)."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        names = self.opts
        self.opts = names[:1]
        try:
            return super().get_help_record(ctx)
        finally:
            self.opts = names


def _kinds() -> tuple[str, ...]:
    from hpatch.catalog import KINDS
    return (*KINDS, "all")


def _builders() -> Iterable[str]:
    from hpatch.builders import BUILDERS
    return BUILDERS


def _runtimes() -> Iterable[str]:
    from hpatch.runtime import RUNTIMES
    return RUNTIMES


def _emitters() -> Iterable[str]:
    from hpatch.ci import EMITTERS
    return EMITTERS


REPO = click.option("--repo", "repo", type=click.Path(path_type=Path), default=Path("."),
                    show_default=True, help="The Hadoop git checkout.")
JSON = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
KIND = click.option("--kind", type=RegistryChoice(_kinds), default="bug",
                    show_default=True,
                    help="Which fixes when none are named: bug fixes, build fixes (native "
                         "code on new toolchains; `hpatch build` offers them), or all.")
SHARD = click.option("--shard", "shard", default=None, metavar="I/N",
                     help="Only the I-th of N shards of the selected fixes (a fix's shard "
                          "is a hash of its id, so it stays put as fixes are added); for CI.")
RUNTIME = click.option("--runtime", type=RegistryChoice(_runtimes), default="docker",
                       show_default=True,
                       help="Where the reproducer's JVM runs: in a container, or on the "
                            "host's JDK (local; --no-docker says the same).")
NO_DOCKER = click.option("--no-docker", is_flag=True,
                         help="Run on the host's JDK instead of a container (--runtime local).")


def release_option(what: str) -> Callable[[F], F]:
    return click.option("--release", "--version", "release", cls=HiddenAlias, default=None,
                        metavar="RELEASE", help=what)


def _set_catalog(ctx: click.Context, _: click.Parameter, value: Path | None) -> None:
    """`--catalog` after the verb: this command's catalog, as if given before it."""
    if value is not None:
        ctx.obj = Context(value)


CATALOG_AFTER_VERB = click.option(
    "--catalog", type=click.Path(path_type=Path), default=None, expose_value=False,
    callback=_set_catalog, help="Catalog directory (as before the verb).")


def _of_kind(catalog: catalog_mod.Catalog, kind: str) -> list[catalog_mod.Fix]:
    return [f for f in catalog if kind == "all" or f.kind == kind]


def _runtime_name(runtime: str, no_docker: bool) -> str:
    from hpatch.runtime import LOCAL
    return LOCAL if no_docker else runtime


class Context:
    def __init__(self, catalog_dir: Path | None) -> None:
        self._catalog_dir = catalog_dir

    @property
    def catalog_root(self) -> Path:
        from hpatch import catalog as catalog_mod
        # Absolute: git runs in the checkout, where a relative --catalog means nothing.
        return (self._catalog_dir or catalog_mod.default_root()).absolute()

    def catalog(self) -> catalog_mod.Catalog:
        from hpatch import catalog as catalog_mod
        return catalog_mod.load(self.catalog_root)

    @property
    def catalog_given(self) -> bool:
        """--catalog or HPATCH_CATALOG named one (not the bundled default)."""
        return self._catalog_dir is not None


_pass_context = click.make_pass_decorator(Context)


def pass_ctx(command: Callable[..., None]) -> Callable[..., None]:
    """The command gets the Context; `--catalog` may also follow the verb."""
    return CATALOG_AFTER_VERB(_pass_context(command))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hpatch")
@click.option("--catalog", "catalog_dir", type=click.Path(path_type=Path), default=None,
              envvar="HPATCH_CATALOG", help="Catalog directory (default: the bundled one).")
@click.pass_context
def cli(ctx: click.Context, catalog_dir: Path | None) -> None:
    """Carry documented Hadoop fixes onto the release you run, and prove them."""
    ctx.obj = Context(catalog_dir)


def _checkout(repo: Path) -> Checkout:
    from hpatch.checkout import Checkout
    return Checkout.open(repo)


def _release(text: str) -> str:
    from hpatch.releases import Release
    return str(Release.parse(text))


def _checkout_or_release(repo: Path | None, release: str | None) -> Checkout | None:
    """What a verb looks at: --release's sources (fetched once into the cache), else
    the --repo checkout, else nothing."""
    if release:
        from hpatch import sources
        from hpatch.releases import Release
        repo = sources.ensure_cached(Release.parse(release), progress=output.note)
    return _checkout(repo) if repo is not None else None


def _the_checkout(repo: Path, release: str | None) -> Checkout:
    """--repo (default: here) or --release's sources; both named is a mistake to say,
    not a choice to make silently."""
    given = click.get_current_context().get_parameter_source("repo")
    if release and given is click.core.ParameterSource.COMMANDLINE:
        raise UsageError("give --repo or --release, not both")
    checkout = _checkout_or_release(repo, release)
    assert checkout is not None, "repo has a default"
    return checkout


@cli.command("source")
@click.argument("version")
@click.argument("dest", type=click.Path(path_type=Path))
def source_cmd(version: str, dest: Path) -> None:
    """Lay out release VERSION's sources (from Maven) as a git checkout in DEST."""
    from hpatch.commands.source import source
    from hpatch.releases import Release
    sys.exit(source(Release.parse(version), dest))


@cli.command("list")
@JSON
@pass_ctx
def list_cmd(ctx: Context, as_json: bool) -> None:
    """The catalog: ids, components, upstream fixes, affected releases."""
    from hpatch.commands.listing import list_fixes
    sys.exit(list_fixes(ctx.catalog(), as_json=as_json))


@cli.command("status")
@REPO
@release_option("Look at a release's sources instead of a checkout.")
@KIND
@JSON
@pass_ctx
def status_cmd(ctx: Context, repo: Path, release: str | None, kind: str, as_json: bool) -> None:
    """Each fix's state on the checkout: applied, applicable, fixed-upstream, ..."""
    from hpatch.commands.status import status
    sys.exit(status(_the_checkout(repo, release), _of_kind(ctx.catalog(), kind),
                    as_json=as_json))


@cli.command("apply")
@click.argument("fixes", nargs=-1)
@click.option("--all", "all_fixes", is_flag=True, help="Every bug fix in the catalog, in order.")
@REPO
@click.option("--dry-run", is_flag=True, help="Say what would be committed; change nothing.")
@pass_ctx
def apply_cmd(ctx: Context, fixes: tuple[str, ...], all_fixes: bool, repo: Path,
              dry_run: bool) -> None:
    """Commit FIXES (or --all) onto the checked-out branch, one commit each."""
    from hpatch.commands.apply import apply
    catalog = ctx.catalog()
    if bool(fixes) == all_fixes:
        raise UsageError("name the fixes to apply, or give --all (not both)")
    chosen = [f for f in catalog if f.kind == "bug"] if all_fixes else catalog.select(fixes)
    sys.exit(apply(_checkout(repo), chosen, dry_run=dry_run))


@cli.command("revert")
@click.argument("fixes", nargs=-1, required=True)
@REPO
@pass_ctx
def revert_cmd(ctx: Context, fixes: tuple[str, ...], repo: Path) -> None:
    """Take FIXES off again with revert commits."""
    from hpatch.commands.revert import revert
    sys.exit(revert(_checkout(repo), ctx.catalog().select(fixes)))


@cli.command("recover")
@REPO
def recover_cmd(repo: Path) -> None:
    """Finish or undo a change that an interrupted hpatch run left behind."""
    from hpatch.commands.revert import recover_only
    sys.exit(recover_only(_checkout(repo)))


@cli.command("refresh")
@click.argument("fix")
@REPO
@click.option("--releases", default=None,
              help="Range the new variant claims (default: exactly this release).")
@pass_ctx
def refresh_cmd(ctx: Context, fix: str, repo: Path, releases: str | None) -> None:
    """Port FIX to this release with offsets/fuzz and record it as a new variant."""
    from hpatch.commands.refresh import refresh
    sys.exit(refresh(_checkout(repo), ctx.catalog().get(fix), releases=releases))


@cli.command("verify")
@click.argument("fixes", nargs=-1)
@REPO
@release_option("Verify on a release's sources from Maven Central instead of a checkout.")
@click.option("--repeat", default=1, show_default=True, type=click.IntRange(1, 50),
              help="Run each reproducer N times on each side.")
@click.option("--compile-only", is_flag=True,
              help="Only build: stock, patched and the reproducer must compile (verdict "
                   "`compiled`); nothing runs.")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(1, 16),
              help="Fixes verified at once.")
@click.option("--timeout", default=300, show_default=True, type=click.IntRange(10, 7200),
              help="Seconds one reproducer run may take.")
@RUNTIME
@NO_DOCKER
@click.option("--builder", type=RegistryChoice(_builders), default="fast",
              show_default=True,
              help="fast: published jars for modules identical to the release, the rest "
                   "built from the checkout; full: stock and patched each built whole "
                   "(mvn package -Pdist,native).")
@click.option("--base", "base", default=None, metavar="RELEASE",
              help="The Apache release the checkout derives from, where its version does "
                   "not tell (default: from the version, else the nearest release tag).")
@click.option("--native-lib", "native_lib", type=click.Path(path_type=Path), default=None,
              envvar="HPATCH_NATIVE_LIB",
              help="A directory with this release's libhadoop.so, instead of building it.")
@click.option("--junit-xml", "junit_xml", type=click.Path(path_type=Path), default=None)
@KIND
@SHARD
@JSON
@pass_ctx
def verify_cmd(ctx: Context, fixes: tuple[str, ...], repo: Path, release: str | None,
               repeat: int, compile_only: bool, jobs: int, timeout: int, runtime: str,
               no_docker: bool, builder: str, base: str | None, native_lib: Path | None,
               junit_xml: Path | None, kind: str, shard: str | None, as_json: bool) -> None:
    """Prove fixes: the reproducer must fail on stock and pass patched."""
    from hpatch.commands.verify import verify
    from hpatch.paths import runs_dir
    from hpatch.shard import parse
    part = parse(shard) if shard is not None else None
    catalog = ctx.catalog()
    chosen = catalog.select(fixes) if fixes else _of_kind(catalog, kind)
    sys.exit(verify(_the_checkout(repo, release), chosen, catalog, shard=part,
                    runtime_name=_runtime_name(runtime, no_docker), builder_name=builder,
                    repeat=0 if compile_only else repeat, jobs=jobs, timeout=timeout,
                    runs_root=runs_dir(), as_json=as_json, junit_path=junit_xml,
                    native_lib=native_lib, base_override=base))


@cli.command("report")
@click.argument("runs", metavar="RUN...", nargs=-1, required=True)
@click.option("--junit-xml", "junit_xml", type=click.Path(path_type=Path), default=None)
@JSON
@pass_ctx
def report_cmd(ctx: Context, runs: tuple[str, ...], junit_xml: Path | None,
               as_json: bool) -> None:
    """Re-print verification RUNs (ids under runs/, or their directories) from their
    files, as one report: e.g. the run directories of a sharded verification's jobs."""
    from hpatch.commands.report import report_runs
    from hpatch.paths import runs_dir
    sys.exit(report_runs(ctx.catalog(), list(runs), runs_dir(), as_json=as_json,
                         junit_path=junit_xml))


@cli.command("image")
@click.option("--base", "base_only", is_flag=True,
              help="Only the base image (debootstrap + docker import).")
def image_cmd(base_only: bool) -> None:
    """Make the container images verification runs in (reused while unchanged)."""
    from hpatch.commands.image import image
    sys.exit(image(base_only=base_only))


@cli.command("diagnose")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--repo", "repo", type=click.Path(path_type=Path), default=None,
              help="Say whether this checkout is affected.")
@release_option("Say whether this release is affected.")
@JSON
@pass_ctx
def diagnose_cmd(ctx: Context, files: tuple[Path, ...], repo: Path | None, release: str | None,
                 as_json: bool) -> None:
    """Name the fixes whose symptoms FILES (logs, jstacks; `-` reads stdin) show.

    Exit 0: none named, 1: a fix named, 2: bad usage, 66: an input is missing, a
    directory or unreadable, 65: another error (e.g. a damaged catalog)."""
    from hpatch.commands.diagnose import diagnose
    if repo and release:
        raise UsageError("give --repo or --release, not both")
    if sum(str(f) == "-" for f in files) > 1:
        raise UsageError("`-` (standard input) can be given once")
    try:
        code = diagnose(ctx.catalog(), list(files), _checkout_or_release(repo, release),
                        as_json=as_json)
    except HpatchError as exc:
        if exc.exit_code == EXIT_FAILURE:  # 1 would read as "a fix was named"
            exc.exit_code = EXIT_DATA_ERROR
        raise
    sys.exit(code)


def _checkout_map(values: tuple[str, ...]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for value in values:
        release, sep, path = value.partition("=")
        if not sep or not path:
            raise UsageError(f"--checkout takes RELEASE=DIR, not {value!r}")
        found[_release(release)] = Path(path)
    return found


@cli.command("matrix")
@click.option("--releases", default=None,
              help="Comma-separated releases (default: 2.2.0 … 3.3.6, fourteen of them).")
@click.option("--fixes", "fix_names", default=None, help="Comma-separated fix ids (default: all).")
@click.option("--checkout", "checkouts", multiple=True, metavar="RELEASE=DIR",
              help="Use this checkout for a release (e.g. one without -sources jars).")
@click.option("--verify", "do_verify", is_flag=True, help="Also verify every applicable cell.")
@click.option("--jobs", default=2, show_default=True, type=click.IntRange(1, 16))
@click.option("--repeat", default=1, show_default=True, type=click.IntRange(1, 50))
@RUNTIME
@NO_DOCKER
@click.option("--json", "fmt", flag_value="json")
@click.option("--markdown", "fmt", flag_value="markdown")
@click.option("--junit-xml", "junit_xml", type=click.Path(path_type=Path), default=None)
@click.option("--update-readme", "readme", type=click.Path(path_type=Path), default=None,
              help="Write the Markdown table between the matrix markers of this file.")
@KIND
@SHARD
@pass_ctx
def matrix_cmd(ctx: Context, releases: str | None, fix_names: str | None,
               checkouts: tuple[str, ...], do_verify: bool, jobs: int, repeat: int,
               runtime: str, no_docker: bool, fmt: str | None, junit_xml: Path | None,
               readme: Path | None, kind: str, shard: str | None) -> None:
    """Each fix's state (and with --verify, verdict) on each release; 1 if any needs attention."""
    from hpatch.commands.matrix import matrix
    from hpatch.matrix import DEFAULT_RELEASES
    from hpatch.paths import runs_dir
    from hpatch.shard import note_picked, parse
    part = parse(shard) if shard is not None else None
    if part is not None and readme is not None:
        raise UsageError("--update-readme writes the whole table: give it without --shard")
    catalog = ctx.catalog()
    chosen = catalog.select(fix_names.split(",")) if fix_names else _of_kind(catalog, kind)
    if part is not None:
        chosen = note_picked(part, chosen)
    wanted = [_release(r) for r in releases.split(",")] if releases else list(DEFAULT_RELEASES)
    sys.exit(matrix(chosen, wanted, catalog, checkouts=_checkout_map(checkouts),
                    verify=do_verify,
                    jobs=jobs, runtime_name=_runtime_name(runtime, no_docker), repeat=repeat,
                    runs_root=runs_dir(), fmt=fmt or "table", junit_path=junit_xml,
                    readme=readme))


@cli.command("notes")
@REPO
@click.option("--since", default=None, help="Only what came after this revision.")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json", "changes"]),
              default="markdown", show_default=True)
@click.option("--output", "out", type=click.Path(path_type=Path), default=None)
@pass_ctx
def notes_cmd(ctx: Context, repo: Path, since: str | None, fmt: str, out: Path | None) -> None:
    """Release notes of the branch: the fixes it carries, read from commit trailers."""
    from hpatch.commands.notes import release_notes
    from hpatch.paths import runs_dir
    sys.exit(release_notes(_checkout(repo), ctx.catalog(), runs_dir(), since=since, fmt=fmt,
                           out=out))


@cli.command("ci")
@click.option("--emit", "kind", type=RegistryChoice(_emitters), required=True)
@click.option("--releases", default=None, help="Comma-separated releases (default: all 14).")
@click.option("--branches", default=None,
              help="A fork's own repository: one job per branch (e.g. acme-2.6,acme-2.7), "
                   "each verifying that branch's checkout.")
@click.option("--install", default=None,
              help="How each job installs hpatch (a shell line).")
@click.option("--install-from", "install_from", default=None, metavar="PATH_OR_URL",
              help="Install hpatch with pip from this path or URL (hpatch is not on PyPI).")
@click.option("--matrix-args", default="", help="Extra arguments for each job's hpatch run.")
@click.option("--shards", default=1, show_default=True, type=click.IntRange(1, 256),
              help="Split each release's or branch's fixes over this many jobs "
                   "(each runs `--shard I/N`).")
@click.option("--output", "out", type=click.Path(path_type=Path), default=None)
def ci_cmd(kind: str, releases: str | None, branches: str | None, install: str | None,
           install_from: str | None, matrix_args: str, shards: int, out: Path | None) -> None:
    """Write a CI workflow: one job per release, or per branch of a fork (--branches)."""
    from hpatch.commands.ci import ci
    sys.exit(ci(kind, releases=releases.split(",") if releases else None,
                branches=[b for b in branches.split(",") if b] if branches else None,
                install=install, install_from=install_from, extra_args=matrix_args,
                shards=shards, out=out))


@cli.command("build")
@REPO
@click.option("--native/--no-native", default=True, show_default=True)
@click.option("--modules", default=None,
              help="Only these modules and what they need (e.g. hadoop-common-project/"
                   "hadoop-common for libhadoop.so alone).")
@click.option("--with-build-fixes", is_flag=True,
              help="Apply the catalog's build fixes this release needs to the build's copy.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output directory (default: builds/hadoop-<release>-<commit>).")
@click.option("--timeout", "timeout_min", default=180, show_default=True,
              type=click.IntRange(1, 1440), help="Minutes the build may take.")
@pass_ctx
def build_cmd(ctx: Context, repo: Path, native: bool, modules: str | None,
              with_build_fixes: bool, out: Path | None, timeout_min: int) -> None:
    """Build the checkout as it ships (mvn package -Pdist,native) in the build container."""
    from hpatch.commands.build import build
    from hpatch.paths import runs_dir
    sys.exit(build(_checkout(repo), ctx.catalog(), native=native,
                   modules=modules.split(",") if modules else [],
                   with_build_fixes=with_build_fixes, out=out, timeout_min=timeout_min,
                   runs_root=runs_dir()))


@cli.group("cache")
def cache_group() -> None:
    """Builds of checkouts' code that verification keeps and reuses."""


@cache_group.command("ls")
@JSON
def cache_ls_cmd(as_json: bool) -> None:
    """List the cached builds, newest use first."""
    from hpatch.commands.cache import cache_ls
    sys.exit(cache_ls(as_json=as_json))


@cache_group.command("prune")
@click.option("--max-size", "max_gib", type=float, default=None,
              help="Keep at most this many GiB (default: HPATCH_BUILD_CACHE_MAX, else 8).")
@click.option("--older-than", "older_than", type=float, default=None, metavar="DAYS",
              help="Also remove builds unused for this many days.")
@click.option("--all", "everything", is_flag=True, help="Remove every cached build.")
def cache_prune_cmd(max_gib: float | None, older_than: float | None, everything: bool) -> None:
    """Remove the builds unused longest, and what interrupted builds left."""
    from hpatch.commands.cache import cache_prune
    sys.exit(cache_prune(max_gib=max_gib, older_than_days=older_than, everything=everything))


@cli.command("import")
@click.argument("fixes", nargs=-1)
@click.option("--from", "ids_file", type=click.Path(path_type=Path), default=None,
              help="A file of fix ids: one per line ('#' comments), or the gap scan's JSON.")
@click.option("--upstream", "upstream_dir", type=click.Path(path_type=Path), required=True,
              help="Apache Hadoop with its branches and release tags: a clone, a bare "
                   "mirror or a .git directory.")
@click.option("--releases", default=None, help="Comma-separated releases to carry it to.")
@click.option("--repo", "repos", multiple=True, type=click.Path(path_type=Path),
              help="A checkout whose release to carry it to (repeatable).")
@click.option("--force", is_flag=True, help="Replace an entry (its curated text is kept).")
@click.option("--list", "list_only", is_flag=True,
              help="Show the upstream commits and whether each release takes the fix.")
@click.option("--dry-run", is_flag=True, help="Also show the entry it would write.")
@click.option("--with-prerequisites", is_flag=True,
              help="Carry the earlier upstream changes a fix needs to apply (named otherwise).")
@JSON
@pass_ctx
def import_cmd(ctx: Context, fixes: tuple[str, ...], ids_file: Path | None, upstream_dir: Path,
               releases: str | None, repos: tuple[Path, ...], force: bool, list_only: bool,
               dry_run: bool, with_prerequisites: bool, as_json: bool) -> None:
    """Write upstream fixes (their commits, their tests as reproducers) into the team's
    catalog (--catalog DIR; never the bundled one); several give one row each."""
    from hpatch.commands.import_fix import import_fixes
    if not ctx.catalog_given and not (list_only or dry_run):
        raise UsageError("give --catalog DIR: the team's catalog to write into")
    sys.exit(import_fixes(fixes, ids_file=ids_file, upstream_dir=upstream_dir,
                          releases=releases, repos=repos, catalog_root=ctx.catalog_root,
                          force=force, list_only=list_only, dry_run=dry_run,
                          as_json=as_json, with_prerequisites=with_prerequisites))


@cli.command("gap")
@click.option("--repo", "repo", type=click.Path(path_type=Path), default=Path("."),
              show_default=True, help="The fork: a Hadoop git checkout.")
@click.option("--upstream", "upstream_dir", type=click.Path(path_type=Path), required=True,
              help="A clone of Apache Hadoop with its release tags (a work tree, a bare "
                   "mirror or a .git directory).")
@click.option("--until", default=None,
              help="Upstream's end of the range (a tag, branch or commit; default: the "
                   "newest release on the fork's base line).")
@click.option("--base", default=None,
              help="The Apache release the fork derives from (default: from its pom).")
@click.option("--component", "components", default=None,
              help="Only these components: Common,HDFS,YARN,MapReduce (or JIRA projects).")
@click.option("--json", "as_json", is_flag=True, help="A JSON list of records.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV for spreadsheets.")
@click.option("--output", "output_path", type=click.Path(path_type=Path), default=None,
              help="Write the result to this file (whole or not at all).")
@click.option("--no-carry", is_flag=True,
              help="Skip trying each missing fix on the fork's tree (faster).")
def gap_cmd(repo: Path, upstream_dir: Path, until: str | None, base: str | None,
            components: str | None, as_json: bool, as_csv: bool, output_path: Path | None,
            no_carry: bool) -> None:
    """Which upstream fixes the fork lacks, read from its code, and which can be carried."""
    from hpatch.commands.gap import gap_command
    if as_json and as_csv:
        raise UsageError("give --json or --csv, not both")
    fmt = "json" if as_json else "csv" if as_csv else "table"
    sys.exit(gap_command(repo, upstream_dir=upstream_dir, until=until, base=base,
                         components=components, fmt=fmt, output_path=output_path,
                         carry=not no_carry))


@cli.command("lint")
@pass_ctx
def lint_cmd(ctx: Context) -> None:
    """Check every catalog entry against the schema and the catalog's rules."""
    from hpatch.commands.lint import lint
    sys.exit(lint(ctx.catalog_root))


def _show_click_error(exc: click.ClickException) -> None:
    """click's usage errors in hpatch's own one-line form; help asked for stays help."""
    if type(exc).__name__ == "NoArgsIsHelpError":  # a bare `hpatch` (click >= 8.2)
        exc.show()
        return
    text = " ".join(exc.format_message().split()).rstrip(".")
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        text += f" (see `{ctx.command_path} --help`)"
    output.error(text)


def main() -> None:
    try:
        interrupt.arm()  # a Ctrl-C that came while importing is raised here
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        _show_click_error(exc)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        output.error("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except HpatchError as exc:
        if getattr(exc, "broken_pipe", False):
            # The reader left (`| head`): nothing to tell, and the exit status a process
            # killed by SIGPIPE has, as other Unix tools give it.
            sys.exit(EXIT_BROKEN_PIPE)
        output.error(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        output.error("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # a bug: keep the traceback, show one line
        import traceback
        log = _crash_log(traceback.format_exc())
        output.error(f"internal error ({type(exc).__name__}: {exc}); details in {log}")
        sys.exit(EXIT_BUG)


def _crash_log(text: str) -> Path:
    """Where the traceback went: the cache's logs, else (no usable cache) a temp file."""
    try:
        log = cache_dir() / "logs" / f"crash-{time.strftime('%Y%m%d-%H%M%S')}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(text, encoding="utf-8")
        return log
    except (OSError, HpatchError):
        import tempfile
        handle, name = tempfile.mkstemp(prefix="hpatch-crash-", suffix=".log")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        return Path(name)
