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
# The offline tier on both cores (its tests are tiny git repositories and
# processes of their own), then the tiers on real sources and Docker one test
# at a time: their JVMs and containers already use every core.
offline=0
run_pytest -n 2 -m "not network and not docker" --durations=10 || offline=$?
rest=0
run_pytest -m "network or docker" --durations=20 || rest=$?
[ "$offline" = 0 ] && [ "$rest" = 0 ]
