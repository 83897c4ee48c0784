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
set +e
python3 -m pytest --durations=20 "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
  echo "test.sh: pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$rc"
