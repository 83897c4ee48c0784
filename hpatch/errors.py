"""One error family; the CLI maps it to a one-line message and an exit code."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_BUG = 3
EXIT_CONFLICT = 4
EXIT_LOCKED = 75  # EX_TEMPFAIL: try again when the other run is done
# diagnose: 1 means "a fix was named", so its errors take sysexits codes instead.
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader of stdout went away
EXIT_DATA_ERROR = 65  # EX_DATAERR: an error that is not about the inputs (a damaged catalog)
EXIT_NO_INPUT = 66  # EX_NOINPUT: an input is missing, a directory, unreadable or corrupt
EXIT_INTERRUPTED = 130


class HpatchError(Exception):
    """A failure the user can act on; its message is one line."""

    exit_code = EXIT_FAILURE


class OutputError(HpatchError):
    """stdout cannot take the output (a full disk, a closed pipe)."""

    def __init__(self, exc: OSError) -> None:
        import errno
        super().__init__(f"cannot write the output: {exc.strerror or exc}")
        self.broken_pipe = exc.errno == errno.EPIPE


class UsageError(HpatchError):
    exit_code = EXIT_USAGE


class InputError(HpatchError):
    """A log or dump given to diagnose cannot be read."""

    exit_code = EXIT_NO_INPUT


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


class GitLockError(HpatchError):
    """A git lock file is in the way: a git command is running, or one was killed."""

    def __init__(self, lock: str, age: float | None = None) -> None:
        self.lock = lock
        old = f" (it is {_age_text(age)} old)" if age is not None else ""
        super().__init__(
            f"git's lock file {lock} is in the way{old}: another git command is running in "
            f"this checkout, or one was killed and left it; wait for it to finish, or, if no "
            f"git command is running, remove {lock}")


def _age_text(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


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
