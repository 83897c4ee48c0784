"""The full build in a container: `mvn package -Pdist,native` of a checkout, as
it ships. Docker-specific, like runtime/docker.py, whose client it uses."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from docker.errors import ImageNotFound

from hpatch.errors import HpatchError
from hpatch.guard import pid_alive
from hpatch.paths import harness_dir
from hpatch.runtime import Progress
from hpatch.runtime.docker import base_tag, client, ensure_base

BUILD_REPO = "hpatch-build"
# HPATCH_M2_VOLUME: another named volume for the builds' Maven repository.
M2_VOLUME = os.environ.get("HPATCH_M2_VOLUME", "hpatch-m2")
BUILDER_UID = 1000
PID_LABEL = "org.hpatch.build.pid"
HOST_LABEL = "org.hpatch.build.host"


def dockerfile() -> Path:
    for candidate in (harness_dir().parent / "Dockerfile.build",
                      harness_dir() / "Dockerfile.build"):
        if candidate.is_file():
            return candidate
    raise HpatchError("Dockerfile.build is missing from this installation")


def extra_ca_certs() -> str:
    """CA certificates this host added to its trust store (a TLS-inspecting proxy's,
    a company CA): Maven in the image must trust them too. HPATCH_EXTRA_CA_CERT
    names one more PEM file."""
    found = sorted(Path("/usr/local/share/ca-certificates").glob("**/*.crt"))
    extra = os.environ.get("HPATCH_EXTRA_CA_CERT")
    if extra:
        found.append(Path(extra))
    return "".join(p.read_text(encoding="ascii", errors="ignore") for p in found
                   if p.is_file())


def ensure_build_image(progress: Progress) -> str:
    engine = client()
    base_id = ensure_base(engine, progress)
    source = dockerfile()
    certs = extra_ca_certs()
    digest = hashlib.sha256(source.read_bytes() + base_id.encode() + certs.encode()
                            ).hexdigest()[:12]
    tag = f"{BUILD_REPO}:{digest}"
    try:
        engine.images.get(tag)
        return tag
    except ImageNotFound:
        pass
    progress(f"building {tag} from {source.name} (JDK 8, Maven, CMake, gcc, protoc 2.5.0)")
    with tempfile.TemporaryDirectory(prefix="hpatch-build-context-") as context:
        # A context of its own: the Dockerfile needs no files, so nothing else is sent.
        shutil.copyfile(source, Path(context) / "Dockerfile")
        _stream_build(engine, context, tag, {"BASE": base_tag(), "EXTRA_CA_CERT": certs},
                      progress)
    return tag


def _stream_build(engine: Any, context: str, tag: str, buildargs: dict[str, str],
                  progress: Progress) -> None:
    stream = engine.api.build(path=context, dockerfile="Dockerfile", tag=tag,
                              buildargs=buildargs, network_mode="host", rm=True,
                              forcerm=True, decode=True)
    for chunk in stream:
        if "error" in chunk:
            raise HpatchError(f"building {tag} failed: {chunk['error'].strip()}")
        text = str(chunk.get("stream", "")).strip()
        if text.startswith("Step "):
            progress(text[:150])


def run_build(image: str, stage: Path, out: Path, shell_line: str, *, timeout: float,
              progress: Progress) -> int:
    """A build's shell line in the build container, as the unprivileged builder, on the
    staged copy (/stage), writing to /out.

    The local Maven repository lives in the named volume hpatch-m2, kept between
    builds; reactor progress is reported."""
    engine = client()
    _remove_abandoned(engine)
    container: Any = engine.containers.run(
        image, ["bash", "-c", "cd /stage && " + shell_line], detach=True,
        labels={PID_LABEL: str(os.getpid()), HOST_LABEL: socket.gethostname()},
        user=f"{BUILDER_UID}:{BUILDER_UID}",
        volumes=_volumes(stage, out),
        network_mode="host", working_dir="/stage", init=True)
    follower = threading.Thread(target=_follow, args=(container, progress), daemon=True)
    follower.start()
    started = time.monotonic()
    try:
        result = container.wait(timeout=timeout)
        code = int(result.get("StatusCode", 1))
    except Exception:
        container.kill()
        progress(f"the build passed its time limit ({timeout / 60:.0f} min) and was stopped")
        code = 124
    finally:
        follower.join(timeout=5)
        container.remove(force=True)
    progress(f"mvn exited {code} after {(time.monotonic() - started) / 60:.1f} min")
    return code


def _volumes(stage: Path, out: Path) -> dict[str, dict[str, str]]:
    """The copy, the output, the Maven volume, and the user's settings.xml (mirrors,
    proxies, credentials), so builds resolve as the user's mvn does."""
    volumes = {str(stage): {"bind": "/stage", "mode": "rw"},
               str(out): {"bind": "/out", "mode": "rw"},
               M2_VOLUME: {"bind": "/home/builder/.m2", "mode": "rw"}}
    settings = Path(os.environ.get("HPATCH_MAVEN_SETTINGS") or Path.home() / ".m2" /
                    "settings.xml")
    if settings.is_file():
        volumes[str(settings.resolve())] = {"bind": "/home/builder/.m2/settings.xml",
                                            "mode": "ro"}
    return volumes


def _remove_abandoned(engine: Any) -> None:
    """Builds whose hpatch process was killed keep running: stop them, so they do not
    write into a copy that is about to be removed, or hold a core."""
    for container in engine.containers.list(filters={"label": PID_LABEL}):
        labels = container.labels or {}
        pid = str(labels.get(PID_LABEL, ""))
        if labels.get(HOST_LABEL) == socket.gethostname() and pid.isdigit() and not pid_alive(
                int(pid)):
            container.remove(force=True)



def _follow(container: Any, progress: Progress) -> None:
    buffer = b""
    for chunk in container.logs(stream=True, follow=True):
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            text = line.decode("utf-8", "replace").strip()
            if text:
                progress(text.replace("[INFO] ", "")[:160])


def prepare_dirs(*dirs: Path) -> None:
    """The builder (uid 1000) writes there; as root, hand them over."""
    for directory in dirs:
        directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            for root, subdirs, files in os.walk(directory):
                os.chown(root, BUILDER_UID, BUILDER_UID)
                for name in subdirs + files:
                    os.lchown(os.path.join(root, name), BUILDER_UID, BUILDER_UID)
        else:
            directory.chmod(0o777)
