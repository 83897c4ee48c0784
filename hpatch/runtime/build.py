"""The full build in a container: `mvn package -Pdist,native` of a checkout, as
it ships. The build image's specifics live here; the container itself is run by
runtime/docker.py, like every other."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

from hpatch.errors import HpatchError
from hpatch.paths import harness_dir
from hpatch.proc import EXIT_TIMEOUT
from hpatch.runtime import Progress
from hpatch.runtime import docker as docker_runtime

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
    engine = docker_runtime.client()
    base_id = docker_runtime.ensure_base(engine, progress)
    source = dockerfile()
    certs = extra_ca_certs()
    digest = hashlib.sha256(source.read_bytes() + base_id.encode() + certs.encode()
                            ).hexdigest()[:12]
    tag = f"{BUILD_REPO}:{digest}"
    if docker_runtime.has_image(engine, tag):
        return tag
    progress(f"building {tag} from {source.name} (JDK 8, Maven, CMake, gcc, protoc 2.5.0)")
    with tempfile.TemporaryDirectory(prefix="hpatch-build-context-") as context:
        # A context of its own: the Dockerfile needs no files, so nothing else is sent.
        shutil.copyfile(source, Path(context) / "Dockerfile")
        docker_runtime.build_image(engine, Path(context), "Dockerfile", tag,
                                   {"BASE": docker_runtime.base_tag(), "EXTRA_CA_CERT": certs},
                                   progress)
    return tag


def run_build(image: str, stage: Path, out: Path, shell_line: str, *, timeout: float,
              progress: Progress) -> int:
    """A build's shell line in the build container, as the unprivileged builder, on the
    staged copy (/stage), writing to /out.

    The local Maven repository lives in the named volume hpatch-m2, kept between
    builds; reactor progress is reported."""
    docker_runtime.remove_abandoned(PID_LABEL, HOST_LABEL)
    spec = docker_runtime.Container(
        image, ["bash", "-c", "cd /stage && " + shell_line], volumes=_volumes(stage, out),
        working_dir="/stage", user=f"{BUILDER_UID}:{BUILDER_UID}", network_mode="host",
        options={"labels": {PID_LABEL: str(os.getpid()), HOST_LABEL: socket.gethostname()}})

    def on_line(line: str) -> None:
        text = line.strip()
        if text:
            progress(text.replace("[INFO] ", "")[:160])

    started = time.monotonic()
    code = docker_runtime.run_container(docker_runtime.client(), spec, timeout=timeout,
                                        on_line=on_line)
    if code == EXIT_TIMEOUT:
        progress(f"the build passed its time limit ({timeout / 60:.0f} min) and was stopped")
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
