#!/usr/bin/env bash
# The main job on the embedded default: Hadoop 2.4.1's sources from Maven
# Central, every applicable catalog fix carried onto them as commits.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/harness/setup.sh"
release="${1:-2.4.1}"
work="$(mktemp -d "${TMPDIR:-/tmp}/hpatch-demo-XXXXXX")/hadoop-$release"
python3 -m hpatch source "$release" "$work"
python3 -m hpatch status --repo "$work"
python3 -m hpatch apply --all --repo "$work"
python3 -m hpatch status --repo "$work"
git -C "$work" log --format='%h %s' "rel/release-$release..HEAD"
echo "demo checkout: $work"
