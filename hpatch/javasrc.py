"""Java (and C) source with its comments and literals blanked, for the code probes.

A probe asks whether some code is in a file; text that only sits in a comment or
a string is not code, so it must neither make a fix read as present nor be what
the probe relies on to find the bug. Blanking (every character but line breaks
becomes a space) keeps offsets and line numbers as they were, so whatever a
probe finds still points at the right place in the real file.

The lexing is Java 7/8's: `//` and `/* */` comments, string literals and char
literals with backslash escapes. C and C++ share those rules, which is enough
for the native files the build fixes probe. Text blocks (Java 15) and `\\uXXXX`
escapes standing for quotes are not handled: no Hadoop release uses them.
"""

from __future__ import annotations

import functools
import re

# Leftmost-first: whichever of `//`, `/*`, `"` or `'` comes first outside any
# token starts the next token, which is how a lexer reads the text too (a `//`
# inside a string is part of the string, a quote inside a comment is comment).
# Literals cannot span lines in Java, so an unclosed one ends at the line break;
# an unclosed block comment runs to the end of the file, as javac sees it.
_TOKEN = re.compile(
    r"""
    (?=[/"'])  # skip ahead to where a token can start: a quarter faster on Hadoop's files
    (?:
      (?P<line>//[^\r\n]*)
    | (?P<block>/\*.*?(?:\*/|\Z))
    | (?P<quote>["'])(?P<body>(?:\\.|(?!(?P=quote))[^\\\r\n])*)(?P=quote)?
    )
    """,
    re.DOTALL | re.VERBOSE,
)
_NOT_NEWLINE = re.compile(r"[^\r\n]")

# Files the probes read through strip(); others (CMake, XML) have other comments.
SUFFIXES = (".java", ".c", ".cc", ".cpp", ".h", ".hh")


def _blank(text: str) -> str:
    if "\n" not in text and "\r" not in text:
        return " " * len(text)
    return _NOT_NEWLINE.sub(" ", text)


def _replace(match: re.Match[str]) -> str:
    if match.group("quote") is None:
        return _blank(match.group(0))
    # Keep the quotes: `"..."` is still an expression where it stood.
    whole = match.group(0)
    body = match.group("body")
    closing = whole[1 + len(body):]
    return whole[0] + _blank(body) + closing


@functools.lru_cache(maxsize=16)  # a file's bug and fix probes read the same text
def strip(source: str) -> str:
    """source with comments blanked and literals emptied, same length, same lines."""
    return _TOKEN.sub(_replace, source)


def is_source(path: str) -> bool:
    """Whether path is a file whose probes should read code only."""
    return path.endswith(SUFFIXES)


def without_comments(source: str) -> str:
    """source with comments blanked and literals as they are."""
    return _TOKEN.sub(lambda m: m.group(0) if m.group("quote") else _blank(m.group(0)), source)
