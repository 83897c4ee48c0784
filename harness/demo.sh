#!/usr/bin/env bash
# The main job on the embedded default, Hadoop 2.4.1 from Maven Central:
# which fixes it lacks, each proven by its reproducer (stock fails, patched
# passes, JDK 8 in a container), then all carried onto a checkout as commits.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/harness/setup.sh"
release="${1:-2.4.1}"
python3 -m hpatch status --version "$release"
# Exit 0 only when every fix is verified; the native one (HADOOP-11802) is
# inconclusive without libhadoop.so (`hpatch build`, then --builder full).
rc=0
python3 -m hpatch verify --version "$release" --jobs 2 || rc=$?
echo "verify exit code: $rc"
work="$(mktemp -d "${TMPDIR:-/tmp}/hpatch-demo-XXXXXX")/hadoop-$release"
python3 -m hpatch source "$release" "$work"
python3 -m hpatch apply --all --repo "$work"
git -C "$work" log --format='%h %s' "rel/release-$release..HEAD"
echo "demo checkout: $work"
