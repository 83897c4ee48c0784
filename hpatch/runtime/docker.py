"""The Docker engine, through the docker SDK: the only module that imports it.

Images are made here without any registry: the base with debootstrap and
`docker import`, the verification image from harness/docker/verify.Dockerfile.
Image tags hash their inputs, so a changed Dockerfile rebuilds by itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
from docker.errors import DockerException, ImageNotFound

from hpatch import proc, workers
from hpatch.errors import EXIT_INTERRUPTED, HpatchError
from hpatch.paths import harness_dir
from hpatch.runtime import Job, Progress

BASE_REPO = "hpatch-base"
BASE_SUITE = os.environ.get("HPATCH_DEBIAN_SUITE", "sid")
VERIFY_REPO = "hpatch-verify"
PROGRESS = "hpatch-progress: "
HOSTNAME = "hpatch-verify"


def client() -> docker.DockerClient:
    try:
        engine = docker.from_env(timeout=600)
        engine.ping()
    except DockerException as exc:
        raise HpatchError(
            f"no Docker engine reachable ({str(exc).splitlines()[0][:120]}); start dockerd, "
            "or run with --no-docker on the host's JDK") from exc
    return engine


def base_tag() -> str:
    return f"{BASE_REPO}:{BASE_SUITE}"


def ensure_base(engine: docker.DockerClient, progress: Progress) -> str:
    """The base image; made with debootstrap + docker import when missing."""
    tag = base_tag()
    try:
        return str(engine.images.get(tag).id)
    except ImageNotFound:
        pass
    if shutil.which("debootstrap") is None:
        raise HpatchError(f"no base image {tag} and no debootstrap to make it: "
                          "apt-get install debootstrap, then `hpatch image base`")
    mirror = os.environ.get("HPATCH_DEBIAN_MIRROR", "")
    with tempfile.TemporaryDirectory(prefix="hpatch-rootfs-") as tmp:
        root = Path(tmp) / "root"
        progress(f"making base image {tag}: debootstrap --variant=minbase {BASE_SUITE}")
        proc.run(["debootstrap", "--variant=minbase", BASE_SUITE, str(root),
                  *([mirror] if mirror else [])], timeout=1800)
        tarball = Path(tmp) / "rootfs.tar"
        proc.run(["tar", "-C", str(root), "-cf", str(tarball), "."])
        progress(f"importing {tarball.stat().st_size >> 20} MiB as {tag}")
        repo, _, version = tag.partition(":")
        engine.api.import_image_from_file(str(tarball), repository=repo, tag=version)
    return str(engine.images.get(tag).id)


def verify_tag(base_id: str) -> str:
    dockerfile = (harness_dir() / "docker" / "verify.Dockerfile").read_bytes()
    digest = hashlib.sha256(dockerfile + base_id.encode()).hexdigest()[:12]
    return f"{VERIFY_REPO}:{digest}"


def has_image(engine: docker.DockerClient, tag: str) -> bool:
    try:
        engine.images.get(tag)
    except ImageNotFound:
        return False
    return True


def build_image(engine: docker.DockerClient, context: Path, dockerfile: str, tag: str,
                buildargs: dict[str, str], progress: Progress) -> None:
    """`docker build` of context into tag, reporting its steps; HpatchError if it fails."""
    stream = engine.api.build(path=str(context), dockerfile=dockerfile, tag=tag,
                              buildargs=buildargs, network_mode="host", rm=True, forcerm=True,
                              decode=True)
    for chunk in stream:
        if "error" in chunk:
            raise HpatchError(f"building {tag} failed: {chunk['error'].strip()}")
        text = str(chunk.get("stream", "")).strip()
        if text.startswith("Step "):
            progress(text[:150])


def ensure_verify_image(engine: docker.DockerClient, progress: Progress) -> str:
    base_id = ensure_base(engine, progress)
    tag = verify_tag(base_id)
    if not has_image(engine, tag):
        progress(f"building {tag} from verify.Dockerfile")
        build_image(engine, harness_dir() / "docker", "verify.Dockerfile", tag,
                    {"BASE": base_tag()}, progress)
    return tag


@dataclass(frozen=True)
class Container:
    """What one container run is: its image, command, mounts and limits."""

    image: str
    argv: Sequence[str]
    volumes: dict[str, dict[str, str]]
    working_dir: str
    user: str
    network_mode: str
    options: dict[str, Any] = field(default_factory=dict)  # the SDK's other run() options


POLL = 5.0  # seconds between looks at an interrupt while a container runs
VERIFY_PID_LABEL = "org.hpatch.verify.pid"
VERIFY_HOST_LABEL = "org.hpatch.verify.host"


def run_container(engine: docker.DockerClient, spec: Container, *, timeout: float,
                  on_line: Callable[[str], None], keep: Path | None = None,
                  peak_memory: Path | None = None) -> int:
    """Run spec to its end (or kill it at timeout: EXIT_TIMEOUT) and remove it.

    Every line it prints goes to on_line; keep gets its whole output, peak_memory
    its peak memory use in bytes."""
    container: Any = engine.containers.run(
        spec.image, list(spec.argv), detach=True, volumes=spec.volumes,
        working_dir=spec.working_dir, user=spec.user, network_mode=spec.network_mode,
        init=True, **spec.options)
    follower = threading.Thread(target=_follow, args=(container, on_line, keep), daemon=True)
    follower.start()
    peak: list[int] = [0]
    if peak_memory is not None:
        threading.Thread(target=_sample_memory, args=(container, peak), daemon=True).start()
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                result = container.wait(timeout=max(1.0, min(POLL, deadline - time.monotonic())))
                code = int(result.get("StatusCode", 1))
                break
            except Exception:  # the engine's wait timed out: look again, or stop it
                if workers.STOP.is_set():
                    container.kill()
                    code = EXIT_INTERRUPTED
                    break
                if time.monotonic() >= deadline:
                    container.kill()
                    code = proc.EXIT_TIMEOUT
                    break
    finally:
        follower.join(timeout=5)
        if peak_memory is not None and peak[0]:
            peak_memory.write_text(f"{peak[0]}\n")
        container.remove(force=True)
    return code


class DockerRuntime:
    name = "docker"

    def __init__(self) -> None:
        self._engine: docker.DockerClient | None = None
        self._image = ""

    def prepare(self, progress: Progress) -> str:
        self._engine = client()
        # A run that was killed outright (SIGKILL) left its containers: stop them.
        remove_abandoned(VERIFY_PID_LABEL, VERIFY_HOST_LABEL)
        self._image = ensure_verify_image(self._engine, progress)
        return f"docker image {self._image}"

    def run(self, job: Job, progress: Progress) -> int:
        assert self._engine is not None, "prepare() first"
        volumes: dict[str, dict[str, str]] = {str(job.work): {"bind": str(job.work), "mode": "rw"}}
        for path in job.readonly:
            volumes.setdefault(str(path), {"bind": str(path), "mode": "ro"})
        spec = Container(
            self._image, job.argv, volumes, working_dir=str(job.work),
            user=f"{os.getuid()}:{os.getgid()}", network_mode="none",
            options={"environment": {"HOME": str(job.work)}, "hostname": HOSTNAME,
                     "extra_hosts": {HOSTNAME: "127.0.0.1"}, "mem_limit": "6g",
                     "labels": {VERIFY_PID_LABEL: str(os.getpid()),
                                VERIFY_HOST_LABEL: socket.gethostname()}})

        def on_line(text: str) -> None:
            if text.startswith(PROGRESS):
                progress(text[len(PROGRESS):].strip())

        return run_container(self._engine, spec, timeout=job.timeout, on_line=on_line,
                             keep=job.work / "container.log",
                             peak_memory=job.work / "peak-memory-bytes.txt")


def _sample_memory(container: Any, peak: list[int]) -> None:
    """The container's peak memory (cgroup max_usage where the engine reports it)."""
    try:
        for stats in container.stats(stream=True, decode=True):
            memory = stats.get("memory_stats", {})
            peak[0] = max(peak[0], int(memory.get("max_usage") or memory.get("usage") or 0))
    except Exception:
        return


def _follow(container: Any, on_line: Callable[[str], None], keep: Path | None) -> None:
    """Hand on each line the container prints; keep everything it printed."""
    buffer = b""
    with keep.open("ab") if keep is not None else contextlib.nullcontext() as log:
        for chunk in container.logs(stream=True, follow=True):
            if log is not None:
                log.write(chunk)
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                on_line(line.decode("utf-8", "replace"))


def remove_abandoned(pid_label: str, host_label: str) -> None:
    """Containers labelled with the pid of an hpatch run on this host that is gone (it
    was killed): stop them, so they neither write into a copy about to be removed nor
    hold a core."""
    from hpatch.guard import pid_alive
    engine = client()
    for container in engine.containers.list(filters={"label": pid_label}):
        labels = container.labels or {}
        pid = str(labels.get(pid_label, ""))
        if labels.get(host_label) == socket.gethostname() and pid.isdigit() and not pid_alive(
                int(pid)):
            container.remove(force=True)
