"""One error family; the CLI maps it to a one-line message and an exit code."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_BUG = 3
EXIT_CONFLICT = 4
EXIT_LOCKED = 75  # EX_TEMPFAIL: try again when the other run is done
EXIT_INTERRUPTED = 130


class HpatchError(Exception):
    """A failure the user can act on; its message is one line."""

    exit_code = EXIT_FAILURE


class UsageError(HpatchError):
    exit_code = EXIT_USAGE


class NotARepoError(HpatchError):
    pass


class CatalogError(HpatchError):
    pass


class ConflictError(HpatchError):
    exit_code = EXIT_CONFLICT


class LockedError(HpatchError):
    exit_code = EXIT_LOCKED


class MavenError(HpatchError):
    unresolved: tuple[str, ...] = ()  # coordinates the repository does not have


class ProcessError(HpatchError):
    """A command failed; the message names it, its exit code and its stderr tail."""

    def __init__(self, argv: list[str], returncode: int, stdout: str, stderr: str) -> None:
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        tail = (stderr.strip() or stdout.strip()).splitlines()[-1:] or ["(no output)"]
        super().__init__(f"`{' '.join(argv[:4])}{' …' if len(argv) > 4 else ''}` "
                         f"exited {returncode}: {tail[0]}")
