"""Changing a checkout safely: one commit at a time, journaled, under the lock."""

from __future__ import annotations

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
    TRAILER_FIX,
    TRAILER_REVERT,
    TRAILER_VARIANT,
    Author,
    Checkout,
    HpatchCommit,
)
from hpatch.errors import HpatchError
from hpatch.guard import Journal, repo_lock
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
        message = recover(checkout)
        if message:
            output.note(message)
        branch = checkout.branch()
        if branch is None:
            raise HpatchError("HEAD is detached: check out a branch first "
                              "(hpatch commits onto a branch, never onto a detached HEAD)")
        busy = checkout.operation_in_progress()
        if busy:
            raise HpatchError(f"git is in the middle of {busy}: finish or abort it first")
        yield Prepared(branch)


def recover(checkout: Checkout) -> str | None:
    """Finish (or discard) a change that a killed run left half done."""
    sdir = state_dir(checkout)
    journal = Journal.read(sdir)
    if journal is None:
        return None
    tip = checkout.rev(f"refs/heads/{journal.branch}")
    if tip == journal.new:
        skipped: list[str] = []
        if checkout.branch() == journal.branch:
            safe, skipped = _paths_safe_to_sync(checkout, journal)
            checkout.sync_paths(safe)
        message = (f"finished an interrupted {journal.op} of {journal.fix}: "
                   f"commit {journal.new[:10]} is on {journal.branch}")
        if skipped:
            message += f"; left your edits in {', '.join(skipped)} (they differ from both sides)"
    elif tip == journal.old:
        message = (f"an interrupted {journal.op} of {journal.fix} had not changed "
                   f"{journal.branch}; nothing to undo")
    else:
        message = (f"an interrupted {journal.op} of {journal.fix} was found, but "
                   f"{journal.branch} has moved since; left as it is")
    Journal.clear(sdir)
    return message


def _paths_safe_to_sync(checkout: Checkout, journal: Journal) -> tuple[list[str], list[str]]:
    safe, skipped = [], []
    for path in journal.paths:
        here = checkout.read_worktree(path)
        if here in (checkout.read_blob(journal.old, path), checkout.read_blob(journal.new, path)):
            safe.append(path)
        else:
            skipped.append(path)
    return safe, skipped


def commit_change(checkout: Checkout, *, branch: str, op: str, fix_id: str, patch_text: str,
                  paths: list[str], message: str, author: Author | None,
                  reverse: bool = False) -> str:
    """Commit patch_text onto branch and bring just its paths up to date."""
    old = checkout.head()
    with tempfile.NamedTemporaryFile("w", suffix=".patch", delete=False,
                                     dir=state_dir(checkout), encoding="utf-8") as handle:
        handle.write(patch_text)
        patch_file = Path(handle.name)
    try:
        new = checkout.commit_patch(patch_file, parent=old, message=message, author=author,
                                    reverse=reverse)
    finally:
        patch_file.unlink()
    Journal(op, fix_id, branch, old, new, paths).write(state_dir(checkout))
    _fault_point("after-journal")
    checkout.advance_branch(branch, new, old, f"hpatch: {op} {fix_id}")
    _fault_point("after-ref")
    checkout.sync_paths(paths)
    Journal.clear(state_dir(checkout))
    return new


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
