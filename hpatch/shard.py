"""Shards of a set of fixes, so that CI can spread one verification over N jobs.

A fix's shard is sha256(its id) mod N: it depends on the id and N alone, never on
which other fixes are in the set. Adding or dropping a fix moves no other fix to
another shard, so a shard job keeps re-verifying the same fixes and the matrix's
reuse key (per fix and release) keeps finding their earlier results. Round-robin
over the sorted ids would balance the shards exactly but move about half the fixes
whenever one id sorts in before them. Within a shard the catalog order is kept."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from hpatch import output
from hpatch.errors import UsageError

MAX_SHARDS = 256
_FORM = re.compile(r"([0-9]+)/([0-9]+)")

T = TypeVar("T")


@dataclass(frozen=True)
class Shard:
    """The index-th (1-based) of count shards."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, fix_id: str) -> bool:
        return shard_of(fix_id, self.count) == self.index

    def pick(self, items: Sequence[T], key: str = "id") -> list[T]:
        """The items (fixes, by their `id`) in this shard, in the order given."""
        return [item for item in items if self.holds(str(getattr(item, key)))]


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


H = TypeVar("H", bound=_HasId)


def note_picked(shard: Shard, fixes: Sequence[H]) -> list[H]:
    """The shard's fixes, and a note on stderr of which, of how many."""
    picked = shard.pick(fixes)
    output.note(f"shard {shard}: {len(picked)} of {len(fixes)} fix(es)"
                + (f": {', '.join(f.id for f in picked)}" if picked else ""))
    return picked


def shard_of(fix_id: str, count: int) -> int:
    """The 1-based shard a fix id lands in among count shards."""
    digest = hashlib.sha256(fix_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def parse(text: str, option: str = "--shard") -> Shard:
    """`I/N`, 1 <= I <= N <= MAX_SHARDS; UsageError otherwise."""
    match = _FORM.fullmatch(text)
    if not match:
        raise UsageError(f"{option} takes I/N (e.g. 2/4: the second of four shards), "
                         f"not {text!r}")
    index, count = int(match.group(1)), int(match.group(2))
    if not 1 <= count <= MAX_SHARDS:
        raise UsageError(f"{option} {text}: the number of shards must be 1 to {MAX_SHARDS}")
    if not 1 <= index <= count:
        raise UsageError(f"{option} {text}: the shard must be 1 to {count} (shards count "
                         "from 1)")
    return Shard(index, count)
