"""The host's own JDK, for users without a Docker engine (--no-docker)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from hpatch import maven, proc
from hpatch.errors import HpatchError
from hpatch.releases import Release
from hpatch.runtime import Job, Progress

PROGRESS = "hpatch-progress: "
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class LocalRuntime:
    name = "local"

    def prepare(self, progress: Progress) -> str:
        java_home = os.environ.get("HPATCH_JAVA_HOME") or os.environ.get("JAVA_HOME")
        javac = os.path.join(java_home, "bin", "javac") if java_home else "javac"
        try:
            out = proc.run([javac, "-version"])
        except HpatchError as exc:
            raise HpatchError(f"no JDK on this host for --no-docker ({exc})") from exc
        version = (out.stderr or out.stdout).strip()
        return f"host JDK ({version})"

    def run(self, job: Job, progress: Progress) -> int:
        def on_line(line: str) -> None:
            if line.startswith(PROGRESS):
                progress(line[len(PROGRESS):].strip())

        return proc.stream(job.argv, on_line=on_line, cwd=job.work, timeout=job.timeout)


def host_build_tools(release: Release) -> str:
    """The host's JDK and Maven, when they can build this release (2.x needs JDK 8)."""
    java_home = os.environ.get("HPATCH_JAVA_HOME") or os.environ.get("JAVA_HOME")
    javac = os.path.join(java_home, "bin", "javac") if java_home else "javac"
    try:
        answer = proc.run([javac, "-version"])
        version = (answer.stderr or answer.stdout).strip()
        mvn_version = proc.run(maven.version_argv()).stdout.splitlines()[0]
    except HpatchError as exc:
        raise HpatchError(f"--no-docker builds on the host, which needs a JDK and mvn: {exc}") \
            from exc
    if release.major == 2 and "1.8" not in version:
        raise HpatchError(f"--no-docker: Hadoop {release} builds with JDK 8 (javah), but the "
                          f"host's javac is {version!r}; set HPATCH_JAVA_HOME to a JDK 8, or "
                          "build in the container (without --no-docker)")
    plain = _ANSI.sub("", mvn_version)
    return f"host ({version}, {plain})"


def run_build_on_host(stage: Path, shell_line: str, *, timeout: float,
                      progress: Progress) -> int:
    """A build's shell line on the host, in the staged copy; its exit code."""
    progress("building on the host (--no-docker), not in the build container")
    env = {}
    java_home = os.environ.get("HPATCH_JAVA_HOME")
    if java_home:
        env = {"JAVA_HOME": java_home, "PATH": f"{java_home}/bin:{os.environ['PATH']}"}
    try:
        result = proc.run(["bash", "-c", shell_line], cwd=stage, env=env, check=False,
                          timeout=timeout)
    except HpatchError as exc:
        progress(str(exc))
        return 124
    return result.returncode
