"""Verification against what ships: the jars and libhadoop.so of a full build
(`hpatch build`) instead of the release's published jars. The touched files
are still compiled for both sides, so stock and patched differ only in them."""

from __future__ import annotations

import json
import tarfile
import threading
from pathlib import Path

from hpatch.assess import Assessment
from hpatch.builders import Prepared, Progress
from hpatch.builders.overlay import OverlayBuilder, release_classpath
from hpatch.checkout import Checkout
from hpatch.errors import HpatchError
from hpatch.releases import Release

_LOCK = threading.Lock()


class FullBuilder:
    name = "full"

    def __init__(self, build_dir: Path | None) -> None:
        if build_dir is None:
            raise HpatchError("--builder full needs --build DIR (the output of `hpatch build`)")
        self.build_dir = build_dir.resolve()

    def prepare(self, checkout: Checkout, release: Release, assessment: Assessment,
                work: Path, progress: Progress) -> Prepared:
        manifest = self._manifest(release)
        if manifest.get("exit_code") != 0:
            raise HpatchError(f"the build in {self.build_dir} did not succeed")
        overlay = OverlayBuilder().prepare(checkout, release, assessment, work, progress)
        shipped = self._jars(release, progress)
        native = self.build_dir / "native"
        return Prepared([*shipped, *release_classpath(release, progress)], overlay.touched,
                        native if (native / "libhadoop.so").exists() else None)

    def _manifest(self, release: Release) -> dict[str, object]:
        path = self.build_dir / "manifest.json"
        if not path.is_file():
            raise HpatchError(f"{self.build_dir} is not an `hpatch build` output (no manifest)")
        data: dict[str, object] = json.loads(path.read_text())
        if data.get("release") != str(release):
            raise HpatchError(f"{self.build_dir} holds a build of {data.get('release')}, "
                              f"not {release}")
        return data

    def _jars(self, release: Release, progress: Progress) -> list[Path]:
        """The dist tarball's jars, unpacked once next to it."""
        tarball = self.build_dir / f"hadoop-{release}.tar.gz"
        target = self.build_dir / "jars"
        with _LOCK:
            if not target.is_dir():
                if not tarball.is_file():
                    raise HpatchError(f"no {tarball.name} in {self.build_dir}: build with -Pdist")
                progress(f"unpacking the jars of {tarball.name}")
                with tarfile.open(tarball) as archive:
                    members = [m for m in archive.getmembers()
                               if m.isfile() and m.name.endswith(".jar")
                               and "/share/hadoop/" in m.name and "/sources/" not in m.name
                               and "/webapps/" not in m.name and "-tests" not in m.name]
                    archive.extractall(target, members=members, filter="data")
        # Hadoop's own jars, ahead of the release's test classpath, so the shipped
        # classes are the ones loaded; third-party jars come from that classpath
        # (the same versions), with the test libraries' newer JUnit and Mockito.
        return sorted(j for j in target.rglob("hadoop-*.jar"))
