#!/usr/bin/env bash
# The test command: set-up, static checks, then the whole test suite.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/harness/setup.sh"
cd "$here"
python3 -m ruff check hpatch tests harness
python3 -m mypy
python3 -m hpatch lint
if [ "${HPATCH_NO_DOCKER:-0}" != 1 ]; then
  python3 -m hpatch image          # base + verification image, reused while unchanged
  export HPATCH_REQUIRE_DOCKER=1   # so the Docker tests fail, never skip, here
fi
# pytest's exit 5 (no tests collected) is a failure here, never a pass.
run_pytest() {
  set +e
  python3 -m pytest "$@"
  local rc=$?
  set -e
  if [ "$rc" = 5 ]; then
    echo "test.sh: pytest collected no tests: that is a failure here" >&2
    return 1
  fi
  return "$rc"
}
if [ $# -gt 0 ]; then
  run_pytest --durations=20 "$@"
  exit $?
fi
# Three tiers, each timed: the offline one (tiny git repositories and processes
# of their own); the one on real release sources and Docker (reproducers in
# containers, mvn for sources); and the builds from a checkout (the build image,
# mvn -Pnative in it), which have a budget of their own. The first two run two
# tests at a time: their reproducers must hold on a loaded 2-core machine, and
# much of their time is waiting on a JVM, a container or mvn.
tier() {
  local name="$1"; shift
  local start=$SECONDS rc=0
  run_pytest "$@" || rc=$?
  echo "test.sh: tier $name took $((SECONDS - start)) s (rc $rc)"
  return "$rc"
}
offline=0; rest=0; built=0
tier offline -n 2 -m "not network and not docker" --durations=10 || offline=$?
tier sources+docker -n 2 -m "(network or docker) and not build" --durations=25 || rest=$?
tier build -m "build" --durations=10 || built=$?
[ "$offline" = 0 ] && [ "$rest" = 0 ] && [ "$built" = 0 ]
