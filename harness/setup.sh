#!/usr/bin/env bash
# Installs what hpatch needs on a Debian-like machine; quick when all is there.
# Idempotent: safe to run before every command.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { echo "setup: $*" >&2; }
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

need_apt=()
command -v git >/dev/null || need_apt+=(git)
command -v mvn >/dev/null || need_apt+=(maven)
command -v javac >/dev/null || need_apt+=(default-jdk-headless)
command -v python3 >/dev/null || need_apt+=(python3 python3-pip)
if [ "${HPATCH_NO_DOCKER:-0}" != 1 ]; then
  command -v dockerd >/dev/null || need_apt+=(docker.io)
  command -v debootstrap >/dev/null || need_apt+=(debootstrap)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# A Docker engine for verification (HPATCH_NO_DOCKER=1: the host's JDK instead).
if [ "${HPATCH_NO_DOCKER:-0}" != 1 ] && ! docker info >/dev/null 2>&1; then
  log "starting dockerd (log: /var/log/hpatch-dockerd.log)"
  $SUDO sh -c 'nohup dockerd > /var/log/hpatch-dockerd.log 2>&1 & echo $! > /var/run/hpatch-dockerd.pid'
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { log "dockerd did not come up; see /var/log/hpatch-dockerd.log"; exit 1; }
fi

# The package itself, editable from this checkout, with the test tools.
if ! python3 - "$here" <<'PY' 2>/dev/null
import sys, pathlib
import hpatch, click, unidiff, docker, tabulate, pytest, xdist, mypy, ruff, check_jsonschema  # noqa: F401
want = pathlib.Path(sys.argv[1]).resolve() / "hpatch"
sys.exit(0 if pathlib.Path(hpatch.__file__).resolve().parent == want else 1)
PY
then
  log "installing hpatch from $here"
  python3 -m pip install -q --disable-pip-version-check -e "$here[test]"
fi
log "ready: $(python3 -m hpatch --version), $(mvn -v 2>/dev/null | head -1 | sed 's/\x1b\[[0-9;]*m//g')"
