"""Changing a checkout safely: one commit at a time, journaled, under the lock."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import tempfile
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hpatch import output
from hpatch.catalog import Fix, Variant
from hpatch.checkout import (
    TEMP_PREFIX,
    TRAILER_FIX,
    TRAILER_REVERT,
    TRAILER_VARIANT,
    Author,
    Checkout,
    HpatchCommit,
)
from hpatch.errors import HpatchError
from hpatch.guard import Journal, pid_alive, repo_lock
from hpatch.releases import Release


def _fault_point(name: str) -> None:
    """HPATCH_FAULT=<name> kills the process here: how the tests prove that an
    interrupted change is finished or undone by the next command."""
    if os.environ.get("HPATCH_FAULT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def state_dir(checkout: Checkout) -> Path:
    return checkout.git_dir / "hpatch"


@dataclass(frozen=True)
class Prepared:
    branch: str


@contextmanager
def guarded(checkout: Checkout, command: str) -> Iterator[Prepared]:
    """Lock the checkout, finish any interrupted change, check git is at rest."""
    with repo_lock(state_dir(checkout), command) as notes:
        for text in notes:
            output.note(text)
        removed = clean_leftovers(checkout)
        if removed:
            output.note(f"removed {removed} temporary file(s) that killed runs left in "
                        f"{checkout.git_dir}")
        message = recover(checkout)
        if message:
            output.note(message)
        # Before the detached-HEAD check: a rebase detaches HEAD, and is the real news.
        busy = checkout.operation_in_progress()
        if busy:
            raise HpatchError(f"git is in the middle of {busy}: finish or abort it first")
        branch = checkout.branch()
        if branch is None:
            raise HpatchError("HEAD is detached: check out a branch first "
                              "(hpatch commits onto a branch, never onto a detached HEAD)")
        yield Prepared(branch)


_OWNER = re.compile(r"^(?:hpatch-(?:index|blob|msg)-|tmp)(\d+)-")


def clean_leftovers(checkout: Checkout) -> int:
    """Remove temporary files of runs that were killed: those no live process owns.

    Runs under the checkout's lock, so no other run is changing it; the owner's pid in
    each name still keeps any file a live process made (files without one are older)."""
    found = [p for prefix in TEMP_PREFIX.values() for p in checkout.git_dir.glob(prefix + "*")]
    found += state_dir(checkout).glob("tmp*.patch")
    removed = 0
    for path in found:
        owner = _OWNER.match(path.name)
        pid = int(owner.group(1)) if owner else 0
        if pid and pid != os.getpid() and pid_alive(pid):
            continue
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed += 1
    return removed


def recover(checkout: Checkout) -> str | None:
    """Finish (or discard) a change that a killed run left half done."""
    sdir = state_dir(checkout)
    journal = Journal.read(sdir)
    if journal is None:
        return None
    tip = checkout.rev(f"refs/heads/{journal.branch}")
    on_branch = checkout.branch() == journal.branch
    if tip == journal.new:
        skipped: list[str] = []
        if on_branch:
            safe, skipped = _paths_safe_to_sync(checkout, journal)
            checkout.sync_paths(safe)
        message = (f"finished an interrupted {journal.op} of {journal.fix}: "
                   f"commit {journal.new[:10]} is on {journal.branch}")
        if skipped:
            message += f"; left your edits in {', '.join(skipped)} (they differ from both sides)"
    elif tip == journal.old:
        # A sync that failed part way (and was rolled back) may have written new files,
        # and staged new entries for files it could not write.
        written = _paths_at_new(checkout, journal) if on_branch else []
        checkout.sync_paths(written)
        staged = [p for p in checkout.staged_from(journal.new, journal.paths, unless=journal.old)
                  if p not in written] if on_branch else []
        checkout.reset_index(journal.old, staged)
        message = (f"an interrupted {journal.op} of {journal.fix} had not changed "
                   f"{journal.branch}; nothing to undo")
        undone = [f"restored {', '.join(written)}"] if written else []
        undone += [f"unstaged {', '.join(staged)}"] if staged else []
        if undone:
            message = (f"undid an interrupted {journal.op} of {journal.fix}: "
                       f"{'; '.join(undone)} (as {journal.branch} has them)")
    else:
        message = (f"an interrupted {journal.op} of {journal.fix} was found, but "
                   f"{journal.branch} has moved since; left as it is")
    Journal.clear(sdir)
    return message


def _paths_safe_to_sync(checkout: Checkout, journal: Journal) -> tuple[list[str], list[str]]:
    """Paths holding either side's exact bytes (anything else is the user's edit)."""
    safe, skipped = [], []
    for path in journal.paths:
        here = checkout.read_worktree_bytes(path)
        if here in (checkout.read_blob_bytes(journal.old, path),
                    checkout.read_blob_bytes(journal.new, path)):
            safe.append(path)
        else:
            skipped.append(path)
    return safe, skipped


def _paths_at_new(checkout: Checkout, journal: Journal) -> list[str]:
    """Paths whose work-tree bytes are the new commit's, not the old one's."""
    found = []
    for path in journal.paths:
        here = checkout.read_worktree_bytes(path)
        old = checkout.read_blob_bytes(journal.old, path)
        if here != old and here == checkout.read_blob_bytes(journal.new, path):
            found.append(path)
    return found


def commit_change(checkout: Checkout, *, branch: str, op: str, fix_id: str, patch_text: str,
                  paths: list[str], message: str, author: Author | None,
                  reverse: bool = False) -> str:
    """Commit patch_text onto branch and bring just its paths up to date.

    Either the change is finished (branch, index and work tree agree on the new commit)
    or the checkout is as before; a kill in between leaves the journal for recover()."""
    sdir = state_dir(checkout)
    old = checkout.head()
    # the files as they are now, checked again just before they are overwritten
    seen = {p: checkout.read_worktree_bytes(p) for p in paths}
    with tempfile.NamedTemporaryFile("w", prefix=f"tmp{os.getpid()}-", suffix=".patch",
                                     delete=False, dir=sdir, encoding="utf-8") as handle:
        handle.write(patch_text)
        patch_file = Path(handle.name)
    try:
        new = checkout.commit_patch(patch_file, parent=old, message=message, author=author,
                                    reverse=reverse)
    finally:
        patch_file.unlink()
    # A lock that would stop the steps after the branch moves stops the change now.
    checkout.wait_for_locks(branch)
    _refuse_edited(checkout, seen, old)
    journal = Journal(op, fix_id, branch, old, new, paths)
    journal.write(sdir)
    _fault_point("after-journal")
    try:
        checkout.advance_branch(branch, new, old, f"hpatch: {op} {fix_id}")
    except HpatchError:
        if checkout.rev(f"refs/heads/{branch}") != new:
            Journal.clear(sdir)  # nothing moved: there is nothing for recover to finish
        raise
    _fault_point("after-ref")
    try:
        _refuse_edited(checkout, seen, old)
    except HpatchError:
        _roll_back(checkout, journal)
        raise
    try:
        checkout.sync_paths(paths)
    except HpatchError as exc:
        _roll_back(checkout, journal)
        if checkout.rev(f"refs/heads/{branch}") == old:
            raise HpatchError(f"could not write {', '.join(paths)} ({_last_line(exc)}): the "
                              f"{op} was undone, nothing was committed") from exc
        raise
    Journal.clear(sdir)
    return new


def _refuse_edited(checkout: Checkout, seen: dict[str, bytes | None], old: str) -> None:
    """Stop if a file about to be overwritten was saved since the change began (an
    editor, a build) and no longer holds what it held then or what HEAD has."""
    edited = [p for p, before in seen.items()
              if (now := checkout.read_worktree_bytes(p)) != before
              and now != checkout.read_blob_bytes(old, p)]
    if edited:
        raise HpatchError(f"{', '.join(edited)} changed while hpatch ran: nothing was "
                          "committed and the file was left as it is; run the command again")


def _last_line(exc: HpatchError) -> str:
    said = str(getattr(exc, "stderr", "") or exc).strip().splitlines()
    return said[-1].removeprefix("error: ").removeprefix("fatal: ") if said else str(exc)


def _roll_back(checkout: Checkout, journal: Journal) -> None:
    """The paths could not be brought up to date: put the branch back, so that it is
    never left ahead of the index and work tree. If even that fails, the journal stays
    and the next run finishes the change."""
    try:
        checkout.advance_branch(journal.branch, journal.old, journal.new,
                                f"hpatch: undo {journal.op} {journal.fix}")
    except HpatchError:
        return
    with contextlib.suppress(HpatchError):
        recover(checkout)  # restores any path the failed sync had already written


_FROM = re.compile(r"^From:\s*(.+?)\s*<([^>]+)>\s*$", re.MULTILINE)
_DATE = re.compile(r"^Date:\s*(.+?)\s*$", re.MULTILINE)


def patch_author(patch_text: str) -> Author | None:
    """The author recorded in a format-patch header, kept on the commit."""
    head = patch_text.split("\n\n", 1)[0]
    match = _FROM.search(head)
    if not match:
        return None
    date = _DATE.search(head)
    return Author(match.group(1).strip('"'), match.group(2), date.group(1) if date else "")


def apply_message(fix: Fix, variant: Variant, release: Release) -> str:
    body = textwrap.fill(fix.fix, width=72)
    upstream = ", ".join(fix.upstream) or "none (a local fix)"
    return (
        f"{fix.id}: {fix.title}\n\n{body}\n\n"
        f"Upstream: {upstream}; first released in {fix.first_fixed}.\n\n"
        f"{TRAILER_FIX}: {fix.id}\n"
        f"{TRAILER_VARIANT}: {variant.name} sha256:{variant.digest()}\n"
        f"Hpatch-Release: {release}\n"
    )


def revert_message(commit: HpatchCommit) -> str:
    return (
        f'Revert "{commit.subject}"\n\n'
        f"This reverts commit {commit.sha}.\n\n"
        f"{TRAILER_REVERT}: {commit.fix_id}\n"
    )
