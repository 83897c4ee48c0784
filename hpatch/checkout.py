"""The only module that touches git. Everything else asks it questions.

Commits are built on a private index (GIT_INDEX_FILE) and only then made the
branch's tip with a compare-and-swap ref update, so the user's index, work tree
and other changes are never involved until the commit exists; afterwards just
the paths the commit touched are brought up to date.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from hpatch import proc
from hpatch.errors import ConflictError, GitLockError, HpatchError, NotARepoError, ProcessError
from hpatch.releases import Release

# Temporary files a change makes in .git, named with the pid of the run that owns them
# so that the next run can tell a killed run's leftovers from a live run's files.
TEMP_PREFIX = {"index": "hpatch-index-", "blob": "hpatch-blob-", "msg": "hpatch-msg-"}
TRAILER_FIX = "Hpatch-Fix"
TRAILER_VARIANT = "Hpatch-Variant"
TRAILER_REVERT = "Hpatch-Revert"
TRAILER_RELEASE = "Hpatch-Release"
# Leading blanks allowed: a squash-merge's message may indent the messages it joins.
_TRAILER_LINE = re.compile(r"^[ \t]*(Hpatch-[A-Za-z-]+):[ \t]*(.+?)\s*$", re.MULTILINE)
_POM_NS = "{http://maven.apache.org/POM/4.0.0}"
# git's words when a lock file it wants to create is already there.
_LOCKED = re.compile(r"Unable to create '([^']+\.lock)': File exists")
# git status, IDEs and prompts take index.lock for a moment, again and again: wait this
# long for it before giving up, so that a busy index delays a change but never breaks it.
# HPATCH_GIT_LOCK_WAIT (seconds) sets it, e.g. longer on a slow shared filesystem.
LOCK_WAIT = 10.0
_DUBIOUS = "detected dubious ownership"
# English messages whatever the user's locale, so errors read (and parse) alike.
_GIT_ENV = {"LANGUAGE": "C", "LC_ALL": "C"}
# What would lead git away from the checkout --repo names (another repository, index,
# object store or ref namespace; git's own `rev-parse --local-env-vars` and the
# discovery limits) or change the diffs hpatch reads and feeds to `git apply`. hpatch
# sets GIT_INDEX_FILE itself where it builds a commit on an index of its own.
SCRUBBED_ENV = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_IMPLICIT_WORK_TREE", "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR",
    "GIT_NAMESPACE", "GIT_CEILING_DIRECTORIES", "GIT_PREFIX", "GIT_INTERNAL_SUPER_PREFIX",
    "GIT_GRAFT_FILE", "GIT_SHALLOW_FILE", "GIT_REPLACE_REF_BASE", "GIT_NO_REPLACE_OBJECTS",
    "GIT_QUARANTINE_PATH", "GIT_ATTR_SOURCE", "GIT_CONFIG", "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT", "GIT_EXTERNAL_DIFF", "GIT_DIFF_OPTS", "GIT_PAGER",
)
# hpatch parses git's output and applies the diffs git makes: settings for how output
# looks (colour, prefixes, context, renames, columns, signatures, mail headers) are the
# user's for their own commands, never for hpatch's. Given as `-c`, so they win over
# every config file.
GIT_CONFIG = {
    "color.ui": "never", "color.diff": "never", "color.status": "never",
    "column.ui": "never", "core.pager": "cat", "core.quotePath": "true",
    "diff.noprefix": "false", "diff.mnemonicPrefix": "false", "diff.srcPrefix": "a/",
    "diff.dstPrefix": "b/", "diff.relative": "false", "diff.renames": "false",
    "diff.context": "3", "diff.interHunkContext": "0", "diff.suppressBlankEmpty": "false",
    "status.renames": "false", "apply.ignoreWhitespace": "no",
    "log.showSignature": "false", "i18n.logOutputEncoding": "UTF-8",
    "i18n.commitEncoding": "UTF-8", "format.noprefix": "false", "format.numbered": "false",
    "format.attach": "", "format.thread": "false", "format.from": "false",
    "format.forceInBodyFrom": "false", "format.signOff": "false", "format.useAutoBase": "false",
    "format.notes": "false", "format.coverLetter": "false", "format.headers": "",
}
# the same, said on the command line of each diff-making command
_DIFF_FLAGS = ("--no-ext-diff", "--no-textconv", "--no-color", "--no-renames",
               "--src-prefix=a/", "--dst-prefix=b/")


def git_argv(*args: str) -> list[str]:
    """`git` with hpatch's own settings for output, then args."""
    config = [item for key, value in GIT_CONFIG.items() for item in ("-c", f"{key}={value}")]
    return ["git", *config, *args]


def _run_git(args: Sequence[str], *, cwd: Path | None, env: dict[str, str] | None = None,
             check: bool = False) -> proc.Completed:
    done = proc.run(git_argv(*args), cwd=cwd, env={**_GIT_ENV, **(env or {})},
                    unset=SCRUBBED_ENV, check=False)
    if check and done.returncode != 0:
        raise ProcessError(["git", *args], done.returncode, done.stdout, done.stderr)
    return done


def _git_bytes(root: Path, *args: str, input_bytes: bytes = b"",
               env: dict[str, str] | None = None) -> bytes:
    return proc.run_bytes(git_argv("-C", str(root), *args), input_bytes=input_bytes,
                          env={**_GIT_ENV, **(env or {})}, unset=SCRUBBED_ENV)


@dataclass(frozen=True)
class HpatchCommit:
    """A commit that hpatch made, read back from its trailers."""

    sha: str
    subject: str
    trailers: dict[str, str] = field(default_factory=dict)
    author: str = ""
    date: str = ""
    # Every fix the commit applies (`Hpatch-Fix:`): more than one in a squashed commit.
    carries: tuple[str, ...] = ()
    # The hpatch revert commit that took this commit's fix off later, if one did.
    reverted_by: str = ""

    @property
    def fix_id(self) -> str:
        return self.trailers.get(TRAILER_FIX) or self.trailers.get(TRAILER_REVERT, "")

    @property
    def is_revert(self) -> bool:
        return TRAILER_REVERT in self.trailers

    @property
    def variant_name(self) -> str:
        """The variant's name from `Hpatch-Variant: <name> sha256:<digest>`."""
        return self.trailers.get(TRAILER_VARIANT, "").split(" ")[0]

    @property
    def variant_sha(self) -> str:
        """The variant's patch digest (sha256, 12 hex digits), or "" if not recorded."""
        return self.trailers.get(TRAILER_VARIANT, "").partition("sha256:")[2].strip()

    @property
    def release(self) -> str:
        """The release the commit was made for (`Hpatch-Release:`)."""
        return self.trailers.get(TRAILER_RELEASE, "")


@dataclass(frozen=True)
class Author:
    name: str
    email: str
    date: str = ""


class Checkout:
    """A git work tree, seen as a Hadoop checkout."""

    def __init__(self, root: Path, git_dir: Path, common_dir: Path | None = None, *,
                 env: dict[str, str] | None = None, temp_dir: Path | None = None) -> None:
        self.root = root
        self.git_dir = git_dir
        self._common_dir = common_dir
        # hpatch's own git environment for every call (see read_only), and where its
        # temporary indexes, patches and messages go (the git directory unless said)
        self.env: dict[str, str] = dict(env or {})
        self.temp_dir = temp_dir or git_dir

    @classmethod
    def open(cls, path: Path) -> Checkout:
        """The work tree path is in (it may be a subdirectory), asked of git itself:
        one `git rev-parse`, far cheaper than loading a git library to ask it."""
        if not path.exists():
            raise NotARepoError(f"no such directory: {path}")
        if not path.is_dir():
            # A file inside a checkout would otherwise stand for the whole checkout.
            raise NotARepoError(f"not a directory: {path} (give the checkout's directory)")
        done = _run_git(["rev-parse", "--is-bare-repository", "--absolute-git-dir",
                         "--show-toplevel", "--path-format=absolute", "--git-common-dir"],
                        cwd=path)
        lines = done.stdout.splitlines()
        if done.returncode == 0 and len(lines) == 4 and lines[0] == "false":
            return cls(Path(lines[2]), Path(lines[1]), Path(lines[3]))
        if lines[:1] == ["true"]:
            where = lines[1] if len(lines) > 1 else path
            raise NotARepoError(f"{where} is a bare repository; hpatch needs a work tree")
        if _DUBIOUS in done.stderr:
            # git refuses a repository another user owns (safe.directory): say so up front
            raise NotARepoError(
                f"git refuses {path.resolve()}: it is owned by another user; if you trust "
                f"it, run `git config --global --add safe.directory {path.resolve()}`")
        said = done.stderr.strip().splitlines()[:1]
        why = f" (git: {said[0]})" if said and "not a git repository" not in said[0] else ""
        raise NotARepoError(f"not a git repository: {path}{why}")

    @classmethod
    def open_repository(cls, path: Path) -> Checkout:
        """A repository to read history from: a clone with a work tree, a bare mirror
        (`git clone --mirror`) or a `.git` directory. A bare one is its own root: the
        commands run on it never need a work tree (they use private indexes)."""
        try:
            return cls.open(path)
        except NotARepoError as exc:
            if not path.is_dir():
                raise
            done = proc.run(git_argv("rev-parse", "--is-bare-repository", "--absolute-git-dir"),
                            cwd=path, env=_GIT_ENV, unset=SCRUBBED_ENV, check=False)
            lines = done.stdout.splitlines()
            if done.returncode != 0 or len(lines) != 2:
                raise exc from None
            git_dir = Path(lines[1])
            if lines[0] == "false" and git_dir.name == ".git":
                return cls.open(git_dir.parent)  # the .git of a clone: its work tree
            return cls(git_dir, git_dir, git_dir)

    # -- running git -------------------------------------------------------

    def git(self, *args: str, env: dict[str, str] | None = None, strip: bool = True) -> str:
        code, out, err = self.git_status(*args, env=env, strip=strip)
        if code != 0:
            locked = _LOCKED.search(err)
            if locked:
                raise GitLockError(locked.group(1), _age(Path(locked.group(1))))
            raise ProcessError(["git", *args], code, out, _clean_stderr(err))
        return out

    def git_status(self, *args: str, env: dict[str, str] | None = None,
                   strip: bool = True) -> tuple[int, str, str]:
        """git's exit code, stdout and stderr (each less one final newline)."""
        done = _run_git(args, cwd=self.root, env={**self.env, **(env or {})})
        return done.returncode, _chomp(done.stdout) if strip else done.stdout, _chomp(
            done.stderr)

    # -- what this checkout is ----------------------------------------------

    def hadoop_release(self) -> Release:
        pom = self.root / "pom.xml"
        if not pom.is_file():
            raise HpatchError(f"not a Hadoop checkout: {self.root} has no pom.xml")
        try:
            tree = ET.parse(pom)
        except ET.ParseError as exc:
            raise HpatchError(f"not a Hadoop checkout: {pom} does not parse: {exc}") from exc
        root = tree.getroot()
        artifact = root.findtext(f"{_POM_NS}artifactId") or root.findtext("artifactId")
        if artifact != "hadoop-main":
            raise HpatchError(
                f"not a Hadoop checkout: {pom} is {artifact or 'an unnamed project'}, "
                "not hadoop-main")
        version = root.findtext(f"{_POM_NS}version") or root.findtext("version") or ""
        try:
            return Release.parse(version)
        except HpatchError as exc:
            raise HpatchError(
                f"cannot recognise the Hadoop release in {pom}: version {version!r}") from exc

    def branch(self) -> str | None:
        """The checked-out branch, or None on a detached HEAD."""
        code, out, _ = self.git_status("symbolic-ref", "-q", "--short", "HEAD")
        return out.strip() if code == 0 else None

    def head(self) -> str:
        return self.git("rev-parse", "--verify", "HEAD^{commit}")

    def rev(self, ref: str) -> str | None:
        code, out, _ = self.git_status("rev-parse", "-q", "--verify", f"{ref}^{{commit}}")
        return out.strip() if code == 0 else None

    def operation_in_progress(self) -> str | None:
        """A merge, rebase, cherry-pick, revert or am that git is in the middle of."""
        markers = {
            "MERGE_HEAD": "a merge", "CHERRY_PICK_HEAD": "a cherry-pick",
            "REVERT_HEAD": "a revert", "rebase-merge": "a rebase",
            "rebase-apply": "a rebase or am", "BISECT_LOG": "a bisect",
        }
        for name, what in markers.items():
            if (self.git_dir / name).exists():
                return what
        return None

    def read_worktree(self, path: str) -> str | None:
        file = self.root / path
        try:
            return file.read_text(encoding="utf-8", errors="surrogateescape")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def read_blob(self, rev: str, path: str) -> str | None:
        data = self.read_blob_bytes(rev, path)
        return data.decode("utf-8", errors="surrogateescape") if data is not None else None

    def read_blob_bytes(self, rev: str, path: str) -> bytes | None:
        """The file as checkout writes it to the work tree: exact bytes, no newline added
        or removed, line endings and filters as .gitattributes and core.autocrlf say."""
        try:
            return _git_bytes(self.root, "cat-file", "--filters", f"{rev}:{path}",
                              env=self.env)
        except ProcessError:
            return None

    def read_worktree_bytes(self, path: str) -> bytes | None:
        """A work-tree file's exact bytes; None if it is missing or not a file."""
        file = self.root / path
        if file.is_symlink() or not file.is_file():
            return None
        return file.read_bytes()

    def changed_paths(self, paths: Iterable[str]) -> list[str]:
        """Those of paths with staged, unstaged or untracked changes."""
        wanted = sorted(set(paths))
        if not wanted:
            return []
        out = self.git("status", "--porcelain=v1", "-z", "--untracked-files=all",
                       "--", *wanted, strip=False)
        changed = []
        for entry in out.split("\0"):
            if len(entry) > 3:
                changed.append(entry[3:])
        changed += [p for p in self.hidden_changes(wanted) if p not in changed]
        return changed

    def index_flags(self, paths: Iterable[str]) -> dict[str, str]:
        """path -> `skip-worktree` or `assume-unchanged`, for those of paths whose index
        entry carries a flag that makes `git status` stop comparing it with the file."""
        wanted = sorted(set(paths))
        if not wanted:
            return {}
        out = self.git("ls-files", "-v", "-z", "--", *wanted, strip=False)
        flags = {}
        for entry in out.split("\0"):
            tag, _, path = entry.partition(" ")
            if tag in ("S", "s"):
                flags[path] = "skip-worktree"
            elif tag.islower():
                flags[path] = "assume-unchanged"
        return flags

    def outside_sparse_checkout(self, paths: Iterable[str]) -> list[str]:
        """Those of paths that a sparse checkout leaves out of the work tree (skip-worktree
        and absent): not deleted, just not checked out."""
        flags = self.index_flags(paths)
        return [p for p, flag in flags.items()
                if flag == "skip-worktree" and not os.path.lexists(self.root / p)]

    def hidden_changes(self, paths: Iterable[str]) -> list[str]:
        """Those of paths that differ from their index entry although an index flag
        (skip-worktree, assume-unchanged) keeps `git status` from saying so; a file a
        sparse checkout leaves out is not a change."""
        flagged = self.index_flags(paths)
        if not flagged:
            return []
        staged = self.index_blobs(list(flagged))
        changed, present = [], []
        for path, flag in flagged.items():
            file = self.root / path
            if flag == "skip-worktree" and not os.path.lexists(file):
                continue
            if file.is_symlink() or not file.is_file():
                changed.append(path)
            else:
                present.append(path)
        if present:
            # the work-tree files' blob ids through the path's filters, as `git add` has them
            hashed = self.git("hash-object", "--", *present).splitlines()
            changed += [p for p, sha in zip(present, hashed, strict=True) if staged.get(p) != sha]
        return sorted(changed)

    def tracked(self, paths: Iterable[str], rev: str = "HEAD") -> list[str]:
        """Those of paths that are files in rev's tree."""
        wanted = sorted(set(paths))
        if not wanted:
            return []
        code, out, err = self.git_status("ls-tree", "-z", "--full-tree", rev, "--", *wanted,
                                         strip=False)
        if code != 0:
            if self.rev(rev) is None:  # an unborn branch: no tree yet
                return []
            raise ProcessError(["git", "ls-tree", rev], code, out, _clean_stderr(err))
        found = {entry.split("\t", 1)[1] for entry in out.split("\0") if "\t" in entry}
        return [p for p in wanted if p in found]

    def is_clean(self) -> bool:
        return not self.git("status", "--porcelain=v1", "--untracked-files=no")

    # -- hpatch's own commits ----------------------------------------------

    def hpatch_commits(self, rev: str = "HEAD", since: str | None = None) -> list[HpatchCommit]:
        """hpatch's commits reachable from rev (and not from since), oldest first."""
        if since is not None and self.rev(since) is None:
            raise HpatchError(f"unknown revision: {since}")
        span = f"{since}..{rev}" if since else rev
        args = ["log", "-E", f"--grep=^[[:blank:]]*({TRAILER_FIX}|{TRAILER_REVERT}):",
                "--format=%H%x1f%s%x1f%an%x1f%as%x1f%B%x1e", span,
                *([] if since else self._not_upstream()), "--"]
        code, out, err = self.git_status(*args, strip=False)
        if code != 0:
            if self.rev(rev) is None:  # an unborn branch: no commits at all
                return []
            raise ProcessError(["git", *args], code, out, _clean_stderr(err))
        commits: list[list[HpatchCommit]] = []
        for record in out.split("\x1e"):
            parts = record.strip("\n").split("\x1f")
            if len(parts) != 5:
                continue
            sha, subject, author, date, body = parts
            groups = trailer_groups(body)
            carries = tuple(g[TRAILER_FIX] for g in groups if TRAILER_FIX in g)
            # git log is newest first; the groups of one commit stay in their own order
            commits.append([HpatchCommit(sha, subject, g, author, date, carries)
                            for g in groups])
        return [c for group in reversed(commits) for c in group]

    # -- checking and building commits ---------------------------------------

    def apply_check(self, patch: Path, *, reverse: bool = False,
                    cached: bool = False) -> tuple[bool, str]:
        """Would this patch apply to the work tree (cached: to the index) exactly
        (offsets allowed, no fuzz)?"""
        args = ["apply", "--check", "--whitespace=nowarn"]
        if reverse:
            args.append("--reverse")
        if cached:
            args.append("--cached")
        code, _, err = self.git_status(*args, str(patch))
        return code == 0, _clean_stderr(err)

    def holds_change(self, patch_text: str, *, tree: str | None = None) -> bool:
        """Is this change still in the work tree, or in tree (it reverse-applies exactly)?"""
        if tree is not None:
            return already_in_tree(self, tree, patch_text)
        with tempfile.NamedTemporaryFile("w", prefix="hpatch-held-", suffix=".patch",
                                         encoding="utf-8", errors="surrogateescape") as handle:
            handle.write(patch_text)
            handle.flush()
            ok, _ = self.apply_check(Path(handle.name), reverse=True)
        return ok

    @contextmanager
    def private_index(self, rev: str) -> Iterator[dict[str, str]]:
        """An index holding rev's tree, for building a commit away from the user's."""
        fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX['index']}{os.getpid()}-",
                                    dir=self.temp_dir)
        os.close(fd)
        os.unlink(name)  # git wants to create it itself
        env = {"GIT_INDEX_FILE": name}
        try:
            self.git("read-tree", rev, env=env)
            yield env
        finally:
            for leftover in (name, name + ".lock"):
                if os.path.exists(leftover):
                    os.unlink(leftover)

    def commit_patch(
        self, patch: Path, *, parent: str, message: str, author: Author | None,
        reverse: bool = False,
    ) -> str:
        """A new commit: parent plus patch. Nothing the user sees changes."""
        with self.private_index(parent) as env:
            args = ["apply", "--cached", "--whitespace=nowarn"]
            if reverse:
                args.append("--reverse")
            try:
                self.git(*args, str(patch), env=env)
            except ProcessError as exc:
                # The patch itself does not fit parent: a conflict, unlike other failures.
                raise ConflictError(f"the patch does not apply: {exc.stderr.strip()[:300]}"
                                    ) from exc
            tree = self.git("write-tree", env=env)
        return self.commit_tree(tree, parent=parent, message=message, author=author)

    def commit_files(
        self, files: dict[str, bytes | None], *, parent: str, message: str, author: Author | None,
    ) -> str:
        """A new commit: parent with these paths set to new contents (None deletes)."""
        with self.private_index(parent) as env:
            for path, data in files.items():
                if data is None:
                    self.git("update-index", "--force-remove", "--", path, env=env)
                    continue
                blob = self._hash_object(data)
                mode = self._mode_at(parent, path) or "100644"
                self.git("update-index", "--add", "--cacheinfo", f"{mode},{blob},{path}", env=env)
            tree = self.git("write-tree", env=env)
        return self.commit_tree(tree, parent=parent, message=message, author=author)

    def _hash_object(self, data: bytes) -> str:
        fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX['blob']}{os.getpid()}-",
                                    dir=self.temp_dir)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            return self.git("hash-object", "-w", "--no-filters", name)
        finally:
            os.unlink(name)

    def _mode_at(self, rev: str, path: str) -> str | None:
        out = self.git("ls-tree", rev, "--", path)
        return out.split()[0] if out else None

    def commit_tree(self, tree: str, *, parent: str, message: str, author: Author | None) -> str:
        env: dict[str, str] = {}
        if self.git_status("var", "GIT_COMMITTER_IDENT")[0] != 0:
            # No identity configured (a CI box, a fresh container): sign as hpatch.
            env.update(GIT_COMMITTER_NAME="hpatch", GIT_COMMITTER_EMAIL="hpatch@localhost")
        if author is not None:
            env.update(GIT_AUTHOR_NAME=author.name, GIT_AUTHOR_EMAIL=author.email)
            if author.date:
                env["GIT_AUTHOR_DATE"] = author.date
        fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX['msg']}{os.getpid()}-",
                                    dir=self.temp_dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(message)
            return self.git("commit-tree", tree, "-p", parent, "-F", name, env=env or None)
        finally:
            os.unlink(name)

    def advance_branch(self, branch: str, new: str, old: str, reason: str) -> None:
        """Move branch from old to new, failing if someone moved it meanwhile."""
        self.git("update-ref", "-m", reason, f"refs/heads/{branch}", new, old)

    @property
    def common_dir(self) -> Path:
        """The directory a linked work tree shares with its main one (refs, objects)."""
        if self._common_dir is None:
            found = Path(self.git("rev-parse", "--git-common-dir"))
            self._common_dir = found if found.is_absolute() else self.root / found
        return self._common_dir

    def git_locks(self, branch: str | None) -> list[Path]:
        """Lock files git leaves while it changes the index, HEAD or the branch (and
        leaves behind for good when it is killed)."""
        candidates = [self.git_dir / "index.lock", self.git_dir / "HEAD.lock"]
        if branch:
            candidates.append(self.common_dir / "refs" / "heads" / f"{branch}.lock")
        return [p for p in candidates if p.exists()]

    def wait_for_locks(self, branch: str | None, wait: float | None = None) -> None:
        """Return once no git lock is in the way (checked before the branch moves, so a
        change never starts that could not be finished); GitLockError after `wait` s."""
        deadline = time.monotonic() + (lock_wait() if wait is None else wait)
        delay = 0.01
        while True:
            locks = self.git_locks(branch)
            if not locks:
                return
            if time.monotonic() >= deadline:
                raise GitLockError(str(locks[0]), _age(locks[0]))
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def sync_paths(self, paths: Sequence[str], wait: float | None = None) -> None:
        """Make index and work tree match HEAD for these paths (and only these).

        Each git step takes index.lock; while another command holds it, the step is
        retried for up to `wait` seconds (every step is safe to repeat)."""
        wait = lock_wait() if wait is None else wait
        present = [p for p in paths if self._mode_at("HEAD", p)]
        absent = [p for p in paths if p not in present]
        if present:
            self._retry_locked(wait, "checkout", "HEAD", "--", *present)
        if absent:
            self._retry_locked(wait, "rm", "-q", "--cached", "--ignore-unmatch", "--", *absent)
            for path in absent:
                target = self.root / path
                if target.is_file() or target.is_symlink():
                    target.unlink()

    def index_blobs(self, paths: Sequence[str]) -> dict[str, str]:
        """path -> the blob id the index holds for it (stage 0, or any stage)."""
        found = {}
        for entry in self.git("ls-files", "-s", "-z", "--", *paths, strip=False).split("\0"):
            meta, tab, path = entry.partition("\t")
            if tab:
                found[path] = meta.split()[1]
        return found

    def staged_from(self, rev: str, paths: Sequence[str], *, unless: str) -> list[str]:
        """Those of paths whose index entry is rev's (and not unless's): what a `git
        checkout rev -- paths` that failed part way left staged."""
        if not paths:
            return []
        index = self.index_blobs(paths)

        def blobs(at: str) -> dict[str, str]:
            out = self.git("ls-tree", "-r", "-z", at, "--", *paths, strip=False)
            found = {}
            for entry in out.split("\0"):
                meta, tab, path = entry.partition("\t")
                if tab:
                    found[path] = meta.split()[2]
            return found

        theirs, other = blobs(rev), blobs(unless)
        return [p for p in paths if index.get(p) == theirs.get(p) != other.get(p)]

    def reset_index(self, rev: str, paths: Sequence[str], wait: float | None = None) -> None:
        """Set these paths' index entries to rev's (dropping those rev lacks); the work
        tree is not touched."""
        if paths:
            self._retry_locked(lock_wait() if wait is None else wait,
                               "reset", "-q", rev, "--", *paths)

    def _retry_locked(self, wait: float, *args: str) -> None:
        deadline = time.monotonic() + wait
        delay = 0.01
        while True:
            try:
                self.git(*args)
                return
            except GitLockError:
                if time.monotonic() >= deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def commit_diff(self, sha: str) -> str:
        """The patch a commit made, against its first parent, as text for git apply."""
        return self.git("diff", *_DIFF_FLAGS, "--binary", "--full-index", f"{sha}^", sha,
                        strip=False)

    def format_patch(self, sha: str) -> str:
        return self.git("format-patch", *_DIFF_FLAGS, "--no-attach", "--no-thread", "-1",
                        "--stdout", "--no-signature", sha, strip=False)

    def touched_paths(self, sha: str) -> list[str]:
        out = self.git("diff-tree", "--no-commit-id", "--name-only", "-r", "-z", sha, strip=False)
        return [p for p in out.split("\0") if p]

    # -- trees: what a build of the checkout is made from ---------------------

    def pom_version(self) -> str:
        """The version string of the root pom, exactly as written (2.6.0-cdh5.4.3)."""
        pom = self.root / "pom.xml"
        try:
            root = ET.parse(pom).getroot()
        except (OSError, ET.ParseError) as exc:
            raise HpatchError(f"not a Hadoop checkout: {pom} cannot be read: {exc}") from exc
        return (root.findtext(f"{_POM_NS}version") or root.findtext("version") or "").strip()

    def tree_of(self, rev: str) -> str:
        return self.git("rev-parse", "--verify", f"{rev}^{{tree}}")

    def tree_without(self, commit: str) -> str:
        """HEAD's tree with one commit's change taken off, as a new tree object.

        The commit's diff is reverse-applied, so later changes to other parts of
        the same files stay."""
        fd, name = tempfile.mkstemp(prefix="hpatch-undo-", suffix=".patch", dir=self.temp_dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as handle:
                handle.write(self.commit_diff(commit))
            with self.private_index("HEAD") as env:
                self.git("apply", "--cached", "--reverse", "--whitespace=nowarn", name, env=env)
                return self.git("write-tree", env=env)
        finally:
            os.unlink(name)

    def tree_without_patch(self, patch_text: str, rev: str = "HEAD") -> str:
        """rev's tree with patch_text's change taken off (reverse-applied), as a new tree."""
        fd, name = tempfile.mkstemp(prefix="hpatch-undo-", suffix=".patch", dir=self.temp_dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as handle:
                handle.write(patch_text)
            with self.private_index(rev) as env:
                self.git("apply", "--cached", "--reverse", "--whitespace=nowarn", name, env=env)
                return self.git("write-tree", env=env)
        finally:
            os.unlink(name)

    def tree_with_patch(self, tree: str, patch: Path) -> str:
        """tree with a patch applied (exactly, as `git apply` does), as a new tree object."""
        with self.private_index(tree) as env:
            self.git("apply", "--cached", "--whitespace=nowarn", str(patch), env=env)
            return self.git("write-tree", env=env)

    def tree_entries(self, tree: str, prefix: str = "") -> dict[str, tuple[str, str]]:
        """path -> (mode, blob sha) of every file below prefix in tree."""
        args = ["ls-tree", "-r", "-z", "--full-tree", tree]
        if prefix:
            args += ["--", prefix]
        entries: dict[str, tuple[str, str]] = {}
        for record in self.git(*args, strip=False).split("\0"):
            meta, tab, path = record.partition("\t")
            parts = meta.split()
            if tab and len(parts) == 3 and parts[1] == "blob":
                entries[path] = (parts[0], parts[2])
        return entries

    def subtree(self, tree: str, path: str) -> str | None:
        """The object id of path inside tree (a subtree or a blob), or None."""
        code, out, _ = self.git_status("rev-parse", "-q", "--verify", f"{tree}:{path}")
        return out.strip() if code == 0 else None

    def blob_bytes(self, sha: str) -> bytes:
        return self.blobs([sha])[sha]

    def blobs(self, shas: Sequence[str]) -> dict[str, bytes]:
        """The contents of these blobs, read in one `git cat-file --batch` (thread-safe:
        a process of its own per call)."""
        wanted = list(dict.fromkeys(shas))
        if not wanted:
            return {}
        out = _git_bytes(self.root, "cat-file", "--batch",
                         input_bytes="".join(f"{s}\n" for s in wanted).encode(), env=self.env)
        found: dict[str, bytes] = {}
        at = 0
        for sha in wanted:
            end = out.index(b"\n", at)
            header = out[at:end].split()
            if len(header) != 3:
                raise HpatchError(f"git has no object {sha} in {self.root}")
            size = int(header[2])
            found[sha] = out[end + 1:end + 1 + size]
            at = end + 1 + size + 1
        return found

    def export_tree(self, tree: str, dest: Path) -> None:
        """Write tree's files into dest (a new directory), as `git archive` has them."""
        dest.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="hpatch-archive-", suffix=".tar", dir=dest.parent)
        os.close(fd)
        try:
            self.git("archive", "--format=tar", "-o", name, tree)
            import tarfile  # here only: most verbs never need it
            with tarfile.open(name) as archive:
                archive.extractall(dest, filter="data")
        finally:
            os.unlink(name)

    def nearest_release_tag(self) -> str | None:
        """The newest Apache release tag (release-X, rel/release-X) HEAD descends from."""
        code, out, _ = self.git_status("describe", "--tags", "--abbrev=0",
                                       "--match", "release-[0-9]*",
                                       "--match", "rel/release-[0-9]*", "HEAD")
        return out.strip() if code == 0 and out.strip() else None

    def release_tag(self, release: str) -> str | None:
        """The Apache tag of release in this repository, if it has one."""
        names = (f"rel/release-{release}", f"release-{release}")
        # one for-each-ref for both spellings; a tag must lead to a commit
        out = self.git("for-each-ref", "--format=%(refname) %(objecttype) %(*objecttype)",
                       *(f"refs/tags/{name}" for name in names))
        commits = set()
        for line in out.splitlines():
            ref, kind, peeled = [*line.split(" "), "", ""][:3]
            if (peeled or kind) == "commit":
                commits.add(ref.removeprefix("refs/tags/"))
        return next((name for name in names if name in commits), None)

    def worktree_files(self) -> list[str]:
        """Tracked and untracked files of the work tree, not those git ignores."""
        out = self.git("ls-files", "-z", "-co", "--exclude-standard", strip=False)
        return [name for name in out.split("\0") if name]

    def _not_upstream(self) -> list[str]:
        """`^<tag>` of the Apache release the checkout is based on, if it has the tag.

        No hpatch commit is in a release's own history, and reading every commit
        message of a full clone (tens of thousands) is most of what `status` costs."""
        try:
            tag = self.release_tag(self.hadoop_release().base)
        except HpatchError:
            return []
        return [f"^refs/tags/{tag}"] if tag else []


def trailer_groups(body: str) -> list[dict[str, str]]:
    """A message's hpatch trailers, one group per fix it applies or reverts.

    A squashed commit joins the messages of several hpatch commits: each
    `Hpatch-Fix:` or `Hpatch-Revert:` line starts a group, and the lines after it
    (`Hpatch-Variant:`, `Hpatch-Release:`) belong to that group."""
    groups: list[dict[str, str]] = []
    for match in _TRAILER_LINE.finditer(body):
        key, value = match.group(1), match.group(2)
        if key in (TRAILER_FIX, TRAILER_REVERT) or not groups or key in groups[-1]:
            groups.append({})
        groups[-1][key] = value
    return [g for g in groups if TRAILER_FIX in g or TRAILER_REVERT in g]


def init_release_repo(directory: Path, *, message: str, tag: str, date: str) -> str:
    """Make directory (already filled) a one-commit repository tagged `tag`."""
    _run_git(["init", "-q", "--initial-branch=main", str(directory)], cwd=None, check=True)
    checkout = Checkout(directory, directory / ".git")
    identity = {
        "GIT_AUTHOR_NAME": "hpatch", "GIT_AUTHOR_EMAIL": "hpatch@localhost",
        "GIT_COMMITTER_NAME": "hpatch", "GIT_COMMITTER_EMAIL": "hpatch@localhost",
        "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date,
    }
    checkout.git("add", "-A", ".")
    checkout.git("-c", "commit.gpgsign=false", "commit", "-q", "-m", message, env=identity)
    checkout.git("tag", tag)
    return checkout.head()


def clone_local(source: Path, dest: Path, *, branch: str, tag: str) -> None:
    """Clone a cached release repository and start a branch at its tag."""
    _run_git(["clone", "-q", "--no-checkout", str(source), str(dest)], cwd=None, check=True)
    checkout = Checkout(dest, dest / ".git")
    checkout.git("checkout", "-q", "-b", branch, tag)
    checkout.git("remote", "remove", "origin")


def lock_wait() -> float:
    """Seconds to wait for git's lock files: HPATCH_GIT_LOCK_WAIT, else LOCK_WAIT."""
    raw = os.environ.get("HPATCH_GIT_LOCK_WAIT", "")
    if not raw:
        return LOCK_WAIT
    try:
        value = float(raw)
    except ValueError:
        raise HpatchError(f"HPATCH_GIT_LOCK_WAIT={raw!r} is not a number of seconds") from None
    if not 0 <= value <= 3600:
        raise HpatchError(f"HPATCH_GIT_LOCK_WAIT={raw!r} must be between 0 and 3600 seconds")
    return value


def _age(path: Path) -> float | None:
    try:
        return max(0.0, time.time() - path.stat().st_mtime)
    except OSError:
        return None


def _chomp(text: str) -> str:
    return text[:-1] if text.endswith("\n") else text


def _clean_stderr(text: object) -> str:
    value = str(text or "").strip()
    if value.startswith("stderr: "):
        value = value[len("stderr: "):]
    return value.strip("'\n ")


# -- upstream history: what `hpatch import` reads from a clone of Hadoop ----------


@dataclass(frozen=True)
class LogEntry:
    """One commit as `hpatch import` sees it."""

    sha: str
    parents: tuple[str, ...]
    author: Author
    subject: str
    body: str
    committed: int


def grep_history(checkout: Checkout, pattern: str) -> list[LogEntry]:
    """Every commit on any ref whose message matches pattern (extended regex), oldest first."""
    out = checkout.git("log", "--all", "-E", f"--grep={pattern}",
                       "--format=%H%x1f%P%x1f%an%x1f%ae%x1f%aI%x1f%ct%x1f%s%x1f%B%x1e",
                       strip=False)
    found = []
    for record in out.split("\x1e"):
        parts = record.strip("\n").split("\x1f")
        if len(parts) != 8:
            continue
        sha, parents, name, email, date, stamp, subject, body = parts
        found.append(LogEntry(sha, tuple(parents.split()), Author(name, email, date),
                              subject, body, int(stamp)))
    found.sort(key=lambda e: e.committed)
    return found


def log_range(checkout: Checkout, rev_range: str, paths: Sequence[str], *,
              adding: str = "") -> list[LogEntry]:
    """The commits of rev_range (`A..B`) that touch paths, oldest first, merges left out;
    adding: only those that change the number of occurrences of that text (`git log -S`)."""
    pickaxe = ["-S", adding] if adding else []
    out = checkout.git("log", "--no-merges", "--reverse", *pickaxe,
                       "--format=%H%x1f%P%x1f%an%x1f%ae%x1f%aI%x1f%ct%x1f%s%x1f%B%x1e",
                       rev_range, "--", *paths, strip=False)
    found = []
    for record in out.split("\x1e"):
        parts = record.strip("\n").split("\x1f")
        if len(parts) == 8:
            sha, parents, name, email, date, stamp, subject, body = parts
            found.append(LogEntry(sha, tuple(parents.split()), Author(name, email, date),
                                  subject, body, int(stamp)))
    return found


def files_matching(checkout: Checkout, rev: str, pattern: str, under: str) -> list[str]:
    """The paths under a folder of rev whose text matches pattern (extended regex)."""
    code, out, _ = checkout.git_status("grep", "-l", "-E", pattern, rev, "--", under)
    prefix = f"{rev}:"
    return [ln[len(prefix):] if ln.startswith(prefix) else ln
            for ln in out.splitlines()] if code == 0 else []


def mentions(checkout: Checkout, rev: str, word: str, under: str) -> bool:
    """Whether any file under a folder of rev has word (a whole word, as it is)."""
    code, _, _ = checkout.git_status("grep", "-q", "-w", "-F", word, rev, "--", under)
    return code == 0


def merge_base(checkout: Checkout, one: str, other: str) -> str | None:
    code, out, _ = checkout.git_status("merge-base", one, other)
    return out.strip() if code == 0 and out.strip() else None


def tags_containing(checkout: Checkout, sha: str, patterns: Sequence[str]) -> list[str]:
    """The tags (matching patterns) whose history holds sha."""
    out = checkout.git("tag", "--contains", sha, "--list", *patterns)
    return [t for t in out.splitlines() if t]


def list_tags(checkout: Checkout, patterns: Sequence[str]) -> list[str]:
    return [t for t in checkout.git("tag", "--list", *patterns).splitlines() if t]


def commit_diff_paths(checkout: Checkout, sha: str, paths: Sequence[str]) -> str:
    """sha's change to these paths against its first parent, with full blob ids so that
    `git apply --3way` can find the preimage."""
    return checkout.git("diff", *_DIFF_FLAGS, "--full-index", "--binary", f"{sha}^", sha,
                        "--", *paths, strip=False)


def changed_paths(checkout: Checkout, old: str, new: str, pattern: str) -> list[str]:
    """The paths matching a pathspec pattern whose contents differ between two revisions."""
    out = checkout.git("diff", "--name-only", "--no-renames", old, new, "--", pattern)
    return [p for p in out.splitlines() if p]


def show_paths(checkout: Checkout, sha: str, paths: Sequence[str]) -> str:
    """sha's own diff to these paths, without its message."""
    return checkout.git("show", "--format=", sha, "--", *paths, strip=False)


def tree_diff_paths(checkout: Checkout, old: str, new: str, paths: Sequence[str]) -> str:
    return checkout.git("diff", *_DIFF_FLAGS, "--full-index", "--binary", old, new, "--", *paths,
                        strip=False)


@dataclass(frozen=True)
class TreeApply:
    """How a patch went onto a tree: `clean`, `offsets` or `3way`, or `conflict`."""

    method: str
    tree: str | None
    offsets: tuple[str, ...] = ()
    detail: str = ""


_HUNK_OFFSET = re.compile(r"^Hunk #(\d+) succeeded at (\d+) \(offset (-?\d+) lines?\)", re.M)
_CHECKING = re.compile(r"^Checking patch (\S+)\.\.\.$", re.M)


def apply_to_tree(checkout: Checkout, tree: str, patch_text: str) -> TreeApply:
    """patch_text applied onto tree on a private index: exactly (offsets allowed, never
    fuzz), else by a 3-way merge with the patch's preimage blobs; never the user's index."""
    return apply_on_index(checkout, patch_text, lambda: checkout.private_index(tree))


def apply_on_index(checkout: Checkout, patch_text: str,
                   index: Callable[[], AbstractContextManager[dict[str, str]]], *,
                   check: bool = False) -> TreeApply:
    """patch_text applied on the private index that index() makes (a fresh one for each
    try): exactly, offsets allowed, never fuzz; else by a 3-way merge; else `conflict`.
    `import` and `gap` both decide how a change goes on with this. check: only say
    how (no tree is written; `tree` is None)."""
    fd, name = tempfile.mkstemp(prefix="hpatch-import-", suffix=".patch", dir=checkout.temp_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as handle:
            handle.write(patch_text)
        with index() as env:
            code, _, err = checkout.git_status("apply", "--cached", "-v", "--whitespace=nowarn",
                                               *(["--check"] if check else []), name, env=env)
            if code == 0:
                offsets = _offsets(err)
                return TreeApply("offsets" if offsets else "clean",
                                 None if check else checkout.git("write-tree", env=env),
                                 offsets)
        with index() as env:
            # not --check: with it, git says yes to a 3-way merge that conflicts
            code, _, err = checkout.git_status("apply", "--cached", "--3way",
                                               "--whitespace=nowarn", name, env=env)
            if code == 0:
                return TreeApply("3way", None if check else checkout.git("write-tree", env=env))
            return TreeApply("conflict", None, detail=_clean_stderr(err))
    finally:
        os.unlink(name)


@contextmanager
def index_copy(checkout: Checkout, env: dict[str, str]) -> Iterator[dict[str, str]]:
    """A throw-away copy of the private index env names, for one try that may change it."""
    import shutil
    fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX['index']}{os.getpid()}-",
                                dir=checkout.temp_dir)
    os.close(fd)
    try:
        if os.path.exists(env["GIT_INDEX_FILE"]):
            shutil.copyfile(env["GIT_INDEX_FILE"], name)
        else:
            os.unlink(name)
        yield {**env, "GIT_INDEX_FILE": name}
    finally:
        for leftover in (name, name + ".lock"):
            if os.path.exists(leftover):
                os.unlink(leftover)


def already_in_tree(checkout: Checkout, tree: str, patch_text: str) -> bool:
    """Whether tree already holds patch_text's change (it reverse-applies exactly)."""
    fd, name = tempfile.mkstemp(prefix="hpatch-import-", suffix=".patch", dir=checkout.temp_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as handle:
            handle.write(patch_text)
        with checkout.private_index(tree) as env:
            code, _, _ = checkout.git_status("apply", "--cached", "--check", "--reverse",
                                             "--whitespace=nowarn", name, env=env)
        return code == 0
    finally:
        os.unlink(name)


def _offsets(verbose: str) -> tuple[str, ...]:
    """`file hunk #N: offset +K` for each hunk `git apply -v` placed away from its line."""
    found = []
    current = ""
    for line in verbose.splitlines():
        checking = _CHECKING.match(line)
        if checking:
            current = checking.group(1)
        hunk = _HUNK_OFFSET.match(line)
        if hunk:
            found.append(f"{current.rsplit('/', 1)[-1]} hunk #{hunk.group(1)}: "
                         f"offset {int(hunk.group(3)):+d}")
    return tuple(found)


# -- reading all of upstream at once: what `hpatch gap` asks --------------------


class ObjectReader:
    """One long-lived `git cat-file --batch` for many objects: a process per object
    costs more than reading it. Use as a context manager; the process ends with it."""

    def __init__(self, checkout: Checkout, env: dict[str, str] | None = None) -> None:
        self._child = proc.open_pipe(git_argv("cat-file", "--batch"), cwd=checkout.root,
                                     env={**_GIT_ENV, **checkout.env, **(env or {})},
                                     unset=SCRUBBED_ENV)
        self._where = checkout.root

    def __enter__(self) -> ObjectReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        proc.close_pipe(self._child)

    def read(self, name: str) -> bytes | None:
        """The object's bytes (a sha, or `rev:path`), or None if there is none."""
        stdin, stdout = self._child.stdin, self._child.stdout
        assert stdin is not None and stdout is not None
        stdin.write(name.encode("utf-8", "surrogateescape") + b"\n")
        stdin.flush()
        header = stdout.readline()
        if not header:
            raise HpatchError(f"git cat-file ended early in {self._where}")
        parts = header.split()
        if len(parts) != 3:  # `<name> missing` / `ambiguous`
            return None
        data = stdout.read(int(parts[2]) + 1)
        return data[:-1]


@dataclass(frozen=True)
class LoggedCommit:
    """One commit of `git log -p` as it streams: its header and its diff text."""

    entry: LogEntry
    diff: str


_LOG_MARK = "\x00hpatch-commit\x00"


def stream_log_patches(checkout: Checkout, revs: Sequence[str],
                       paths: Sequence[str]) -> Iterator[LoggedCommit]:
    """Each non-merge commit of revs (newest first) with its diff to these paths (full
    blob ids, no rename detection), read as git writes it: no whole log in memory."""
    argv = git_argv("log", "--no-merges", "-p", "--full-index", "--no-renames", "--no-color",
                    "--no-ext-diff", "--src-prefix=a/", "--dst-prefix=b/",
                    "--format=%x00hpatch-commit%x00%H%x1f%P%x1f%an%x1f%ae%x1f%aI"
                    "%x1f%ct%x1f%s%x1f%b%x1e", *revs, "--", *paths)
    child = proc.open_pipe(argv, cwd=checkout.root, env={**_GIT_ENV, **checkout.env},
                           unset=SCRUBBED_ENV, stdin=False)
    try:
        assert child.stdout is not None
        pending: list[bytes] = []
        for raw in child.stdout:
            if raw.startswith(_LOG_MARK.encode()) and pending:
                yield _logged(b"".join(pending))
                pending = []
            pending.append(raw)
        if pending:
            yield _logged(b"".join(pending))
        if child.wait() != 0:
            err = child.stderr.read().decode("utf-8", "replace") if child.stderr else ""
            raise ProcessError(argv[:4], child.returncode, "", _clean_stderr(err))
    finally:
        proc.close_pipe(child)


def _logged(record: bytes) -> LoggedCommit:
    text = record.decode("utf-8", "surrogateescape")[len(_LOG_MARK):]
    head, _, diff = text.partition("\x1e")
    sha, parents, name, email, date, stamp, subject, body = head.split("\x1f", 7)
    entry = LogEntry(sha, tuple(parents.split()), Author(name, email, date), subject,
                     f"{subject}\n\n{body}", int(stamp))
    return LoggedCommit(entry, diff.lstrip("\n"))


def log_subjects(checkout: Checkout, revs: Sequence[str],
                 paths: Sequence[str] = ()) -> list[tuple[str, str]]:
    """(sha, subject) of each non-merge commit of revs, newest first."""
    out = checkout.git("log", "--no-merges", "--format=%H %s", *revs, "--", *paths,
                       strip=False)
    return [(ln[:40], ln[41:]) for ln in out.splitlines() if len(ln) > 40]


def log_touched(checkout: Checkout, revs: Sequence[str], paths: Sequence[str]) -> set[str]:
    """The commits of revs that change any of paths."""
    out = checkout.git("log", "--no-merges", "--format=%H", *revs, "--", *paths)
    return set(out.split())


def count_commits(checkout: Checkout, revs: Sequence[str], paths: Sequence[str] = ()) -> int:
    return int(checkout.git("rev-list", "--no-merges", "--count", *revs, "--", *paths) or 0)


def tag_commits(checkout: Checkout, patterns: Sequence[str]) -> dict[str, str]:
    """tag -> the commit it names, for the tags matching patterns (one for-each-ref)."""
    out = checkout.git("for-each-ref", "--format=%(refname:short) %(objectname) "
                       "%(*objectname)", *(f"refs/tags/{p}" for p in patterns))
    found = {}
    for line in out.splitlines():
        name, obj, peeled = [*line.split(" "), "", ""][:3]
        found[name] = peeled or obj
    return found


@contextmanager
def shared_objects(checkout: Checkout, *others: Checkout) -> Iterator[dict[str, str]]:
    """git environment in which checkout also sees the objects of others (read-only)
    and writes its own new objects to a scratch directory removed afterwards: patches
    from one repository are checked against another's trees without writing to either."""
    scratch = Path(tempfile.mkdtemp(prefix="hpatch-objects-"))
    try:
        own = checkout.git("rev-parse", "--path-format=absolute", "--git-path", "objects")
        theirs = [o.git("rev-parse", "--path-format=absolute", "--git-path", "objects")
                  for o in others]
        yield {"GIT_OBJECT_DIRECTORY": str(scratch),
               "GIT_ALTERNATE_OBJECT_DIRECTORIES": os.pathsep.join([own, *theirs])}
    finally:
        import shutil
        shutil.rmtree(scratch, ignore_errors=True)


@contextmanager
def read_only(checkout: Checkout) -> Iterator[Checkout]:
    """The same repository for reading, whose git calls write every new object (3-way
    merges' blobs, private indexes' trees, commit-tree's commits) and every temporary
    file to a scratch directory removed afterwards: a repository the user names as a
    source (`import --upstream`) keeps its objects, refs and files as they were. What
    it makes lives only as long as the block; read what is needed inside it."""
    with shared_objects(checkout) as objects, \
            tempfile.TemporaryDirectory(prefix="hpatch-scratch-") as scratch:
        yield Checkout(checkout.root, checkout.git_dir, checkout._common_dir,
                       env={**checkout.env, **objects}, temp_dir=Path(scratch))


@contextmanager
def index_of(checkout: Checkout, entries: dict[str, tuple[str, str]],
             env: dict[str, str] | None = None) -> Iterator[dict[str, str]]:
    """A private index holding only these entries (path -> (mode, blob)): for checking a
    patch against a few files of a tree without reading the whole tree in."""
    fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX['index']}{os.getpid()}-",
                                dir=checkout.temp_dir)
    os.close(fd)
    os.unlink(name)
    full = {**(env or {}), "GIT_INDEX_FILE": name}
    try:
        listing = "".join(f"{mode} {blob}\t{path}\0" for path, (mode, blob) in entries.items())
        done = proc.run(git_argv("update-index", "-z", "--index-info"), cwd=checkout.root,
                        env={**_GIT_ENV, **checkout.env, **full}, unset=SCRUBBED_ENV,
                        input_text=listing, check=False)
        if done.returncode != 0:
            raise ProcessError(["git", "update-index", "--index-info"], done.returncode,
                               done.stdout, _clean_stderr(done.stderr))
        yield full
    finally:
        for leftover in (name, name + ".lock"):
            if os.path.exists(leftover):
                os.unlink(leftover)
