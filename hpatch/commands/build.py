from __future__ import annotations

import hashlib
import shutil
import tarfile
import time
from pathlib import Path

from hpatch import maven, output, records, staging
from hpatch.catalog import Catalog
from hpatch.checkout import Checkout
from hpatch.errors import HpatchError
from hpatch.notes import carried, latest_verification
from hpatch.releases import Release


def build(checkout: Checkout, catalog: Catalog, *, native: bool, modules: list[str],
          with_build_fixes: bool, out: Path | None, timeout_min: int, runs_root: Path) -> int:
    """Build the checkout in the build container; outputs and a manifest in one directory."""
    from hpatch.runtime import build as container
    release = checkout.hadoop_release()
    head = checkout.head()
    out = (out or Path("builds") / f"hadoop-{release}-{head[:10]}").resolve()
    if out.exists() and any(out.iterdir()):
        raise HpatchError(f"{out} exists and is not empty; give --out a new directory")
    needed = staging.needed_build_fixes(checkout, catalog, release)
    if needed and not with_build_fixes:
        output.note(f"{release} needs build fixes to compile its native code here: "
                    f"{', '.join(f.id for f in needed)}; add --with-build-fixes to apply them "
                    "to the build's copy (your checkout is never changed)")
    image = container.ensure_build_image(output.note)
    stage = out / "stage"
    output.note(f"copying the work tree of {checkout.root} (tracked and untracked, not ignored)")
    files = _stage(checkout, stage)
    applied_build_fixes = []
    if with_build_fixes:
        for fix in needed:
            staging.apply_to_stage(fix, checkout, release, stage)
            applied_build_fixes.append(fix.id)
            output.note(f"applied build fix {fix.id} to the copy")
    container.prepare_dirs(stage, out)
    args = maven.dist_build_args(native=native, modules=modules)
    output.note(f"mvn {' '.join(args)} (as an unprivileged user; Maven repository in the "
                f"volume {container.M2_VOLUME})")
    started = time.monotonic()
    code = container.run_build(image, stage, out, maven.shell_line(args, log="/out/build.log"),
                               timeout=timeout_min * 60,
                               progress=output.note)
    seconds = time.monotonic() - started
    outputs = _collect(stage, out, release)
    manifest = _manifest(checkout, catalog, release, head, image, args, code, seconds,
                         applied_build_fixes, outputs, files, runs_root)
    records.write_json(out / "manifest.json", manifest)
    shutil.rmtree(stage, ignore_errors=True)
    output.table([(o["path"], o["bytes"], str(o["sha256"])[:16]) for o in outputs],
                  ["output", "bytes", "sha256"])
    output.line(f"{out}: build {'succeeded' if code == 0 else f'FAILED (mvn exit {code})'} "
                f"in {seconds / 60:.1f} min; log {out / 'build.log'}; manifest "
                f"{out / 'manifest.json'}")
    return 0 if code == 0 else 1


def _stage(checkout: Checkout, stage: Path) -> int:
    count = 0
    for name in checkout.worktree_files():
        source = checkout.root / name
        if not source.is_file() or (source.is_symlink() and not source.exists()):
            continue
        target = stage / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
        count += 1
    return count


def _collect(stage: Path, out: Path, release: Release) -> list[dict[str, object]]:
    found = []
    tarball = stage / "hadoop-dist" / "target" / f"hadoop-{release}.tar.gz"
    if tarball.is_file():
        shutil.copy2(tarball, out / tarball.name)
        found.append(out / tarball.name)
        with tarfile.open(tarball) as archive:
            natives = [m for m in archive.getmembers()
                       if "/lib/native/" in m.name and (m.isfile() or m.issym())]
            for member in natives:
                member.name = Path(member.name).name
            (out / "native").mkdir(exist_ok=True)
            archive.extractall(out / "native", members=natives, filter="data")
    else:
        libs = stage / "hadoop-common-project" / "hadoop-common" / "target" / "native" / \
            "target" / "usr" / "local" / "lib"
        if libs.is_dir():
            shutil.copytree(libs, out / "native", symlinks=True, dirs_exist_ok=True)
    for lib in sorted((out / "native").glob("*")) if (out / "native").is_dir() else []:
        if lib.is_file() and not lib.is_symlink():
            found.append(lib)
    return [{"path": str(p.relative_to(out)), "bytes": p.stat().st_size,
             "sha256": hashlib.sha256(p.read_bytes()).hexdigest()} for p in found]


def _manifest(checkout: Checkout, catalog: Catalog, release: Release, head: str, image: str,
              args: list[str], code: int, seconds: float, build_fixes: list[str],
              outputs: list[dict[str, object]], files: int, runs_root: Path) -> dict[str, object]:
    fixes = []
    for fix_id, (_, commit) in carried(checkout, catalog).items():
        verification = latest_verification(runs_root, fix_id, str(release), commit.variant_sha)
        fixes.append({"id": fix_id, "commit": commit.sha, "variant": commit.variant_name,
                      "variant_sha": commit.variant_sha,
                      "verdict": verification["verdict"] if verification else None,
                      "verified_in_run": verification["run_id"] if verification else None})
    return {"release": str(release), "head": head, "branch": checkout.branch(),
            "fixes": fixes, "build_fixes_applied_to_copy": build_fixes, "image": image,
            "maven": maven.command(args), "exit_code": code,
            "minutes": round(seconds / 60, 1), "files_staged": files, "outputs": outputs,
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
