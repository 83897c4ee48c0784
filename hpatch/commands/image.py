from __future__ import annotations

from hpatch import output


def image(*, base_only: bool) -> int:
    """Make the container images (base by debootstrap + import, then verify)."""
    from hpatch.runtime import docker as docker_runtime
    engine = docker_runtime.client()
    if base_only:
        output.line(f"{docker_runtime.base_tag()}: "
                    f"{docker_runtime.ensure_base(engine, output.note)[:19]}")
        return 0
    output.line(docker_runtime.ensure_verify_image(engine, output.note))
    return 0
