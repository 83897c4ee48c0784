"""The host's own JDK, for users without a Docker engine (--no-docker)."""

from __future__ import annotations

import os
import subprocess

from hpatch import proc
from hpatch.errors import HpatchError
from hpatch.runtime import Job, Progress

PROGRESS = "hpatch-progress: "


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
        with subprocess.Popen(list(job.argv), cwd=job.work, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) as child:
            assert child.stdout is not None
            for line in child.stdout:
                if line.startswith(PROGRESS):
                    progress(line[len(PROGRESS):].strip())
            try:
                return child.wait(timeout=job.timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                return 124
