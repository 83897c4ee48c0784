"""Hadoop release numbers and the ranges of releases a fix or variant covers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

from hpatch.errors import CatalogError, HpatchError

_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:[-.]?(.+))?$")
_PRE = re.compile(r"^(alpha|beta|rc|snapshot)", re.IGNORECASE)


@total_ordering
@dataclass(frozen=True)
class Release:
    """A Hadoop version: 2.4.1, 2.7.4-SNAPSHOT, 3.0.0-alpha1, 2.6.0-cdh5.16.2.

    Pre-releases (alpha, beta, RC, SNAPSHOT) sort before their release; a vendor
    suffix sorts as the release it is built on, since its code is that release's
    plus backports (which the code probes see).
    """

    major: int
    minor: int
    patch: int
    qualifier: str = ""

    @classmethod
    def parse(cls, text: str) -> Release:
        match = _VERSION.match(text.strip())
        if not match:
            raise HpatchError(f"not a Hadoop release number: {text!r}")
        major, minor, patch, qual = match.groups()
        return cls(int(major), int(minor), int(patch or 0), qual or "")

    @property
    def is_prerelease(self) -> bool:
        return bool(_PRE.match(self.qualifier))

    @property
    def base(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    def _key(self) -> tuple[int, int, int, int]:
        return (self.major, self.minor, self.patch, 0 if self.is_prerelease else 1)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Release):
            return NotImplemented
        return self._key() < other._key()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Release):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        return self.base + (f"-{self.qualifier}" if self.qualifier else "")


_CLAUSE = re.compile(r"^(>=|<=|==|>|<)\s*(\S+)$")


@dataclass(frozen=True)
class Clause:
    op: str
    release: Release

    def holds(self, rel: Release) -> bool:
        if self.op == ">=":
            return rel >= self.release
        if self.op == ">":
            return rel > self.release
        if self.op == "<=":
            return rel <= self.release
        if self.op == "<":
            return rel < self.release
        return rel == self.release

    def __str__(self) -> str:
        return f"{self.op}{self.release}"


@dataclass(frozen=True)
class Interval:
    """All clauses hold: '>=2.2.0,<2.8.0'."""

    clauses: tuple[Clause, ...]

    @classmethod
    def parse(cls, text: str) -> Interval:
        clauses = []
        for part in text.split(","):
            match = _CLAUSE.match(part.strip())
            if not match:
                raise CatalogError(f"bad release range clause {part.strip()!r} in {text!r}")
            clauses.append(Clause(match.group(1), Release.parse(match.group(2))))
        if not clauses:
            raise CatalogError(f"empty release range {text!r}")
        return cls(tuple(clauses))

    def contains(self, rel: Release) -> bool:
        return all(c.holds(rel) for c in self.clauses)

    def bounds(self) -> tuple[Release | None, bool, Release | None, bool]:
        """(low, low_inclusive, high, high_inclusive); None is unbounded."""
        low: Release | None = None
        low_inc = True
        high: Release | None = None
        high_inc = True
        for c in self.clauses:
            if c.op in (">=", ">", "==") and (low is None or c.release > low):
                low, low_inc = c.release, c.op != ">"
            if c.op in ("<=", "<", "==") and (high is None or c.release < high):
                high, high_inc = c.release, c.op != "<"
        return low, low_inc, high, high_inc

    def overlaps(self, other: Interval) -> bool:
        a_lo, a_lo_inc, a_hi, a_hi_inc = self.bounds()
        b_lo, b_lo_inc, b_hi, b_hi_inc = other.bounds()
        return _before(a_lo, a_lo_inc, b_hi, b_hi_inc) and _before(b_lo, b_lo_inc, a_hi, a_hi_inc)

    def __str__(self) -> str:
        return ",".join(str(c) for c in self.clauses)


def _before(lo: Release | None, lo_inc: bool, hi: Release | None, hi_inc: bool) -> bool:
    """Is there a release at or above lo and at or below hi?"""
    if lo is None or hi is None:
        return True
    if lo < hi:
        return True
    return lo == hi and lo_inc and hi_inc


@dataclass(frozen=True)
class ReleaseRange:
    """A union of intervals, written as a list: ['>=2.2.0,<2.6.0', '>2.6.0,<2.8.0']."""

    intervals: tuple[Interval, ...]

    @classmethod
    def parse(cls, value: str | list[str]) -> ReleaseRange:
        items = [value] if isinstance(value, str) else list(value)
        if not items:
            raise CatalogError("a release range needs at least one interval")
        return cls(tuple(Interval.parse(item) for item in items))

    def contains(self, rel: Release) -> bool:
        return any(i.contains(rel) for i in self.intervals)

    def overlaps(self, other: ReleaseRange) -> bool:
        return any(a.overlaps(b) for a in self.intervals for b in other.intervals)

    def without(self, rel: Release) -> ReleaseRange | None:
        """This range less one release (splitting the interval that holds it)."""
        kept: list[Interval] = []
        for interval in self.intervals:
            if not interval.contains(rel):
                kept.append(interval)
                continue
            lows = tuple(Clause(">=", c.release) if c.op == "==" else c
                         for c in interval.clauses if c.op in (">", ">=", "=="))
            highs = tuple(Clause("<=", c.release) if c.op == "==" else c
                          for c in interval.clauses if c.op in ("<", "<=", "=="))
            below = Interval((*lows, Clause("<", rel)))
            above = Interval((Clause(">", rel), *highs))
            for part in (below, above):
                lo, lo_inc, hi, hi_inc = part.bounds()
                if _before(lo, lo_inc, hi, hi_inc) and not (lo == hi and lo is not None):
                    kept.append(part)
        return ReleaseRange(tuple(kept)) if kept else None

    def as_list(self) -> list[str]:
        return [str(i) for i in self.intervals]

    def __str__(self) -> str:
        return " | ".join(self.as_list())
