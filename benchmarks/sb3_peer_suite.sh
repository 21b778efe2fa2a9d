#!/usr/bin/env bash
# SB3's own test suite with GRPO standing where PPO stands (issue 13).
#
# Downloads the sdist of the installed stable-baselines3, adds a conftest that sets
# stable_baselines3.PPO = GRPO before the tests import it, and runs the tests whose id names GRPO
# (SB3's parametrized ids name the class: test_run.py::test_discrete[GRPO-...]).
# Known exceptions and why: docs/sb3_compat.md. Extra pytest arguments are passed on.
#
#   bash benchmarks/sb3_peer_suite.sh                 # all GRPO tests
#   bash benchmarks/sb3_peer_suite.sh -x tests/test_run.py
#   bash benchmarks/sb3_peer_suite.sh -n 2 tests       # with pytest-xdist (name the tests folder too)
set -euo pipefail

PYTHON=${PYTHON:-python}
WORKDIR=${WORKDIR:-/tmp/sb3_peer_suite}
VERSION=$("$PYTHON" -c "import stable_baselines3; print(stable_baselines3.__version__)")
SRC="$WORKDIR/stable_baselines3-$VERSION"

if [ ! -d "$SRC/tests" ]; then
    mkdir -p "$WORKDIR"
    "$PYTHON" -m pip download -q --no-deps --no-binary :all: "stable-baselines3==$VERSION" -d "$WORKDIR"
    tar xzf "$WORKDIR/stable_baselines3-$VERSION.tar.gz" -C "$WORKDIR"
    # test the installed package, not the sdist's copy of it
    rm -rf "$SRC/stable_baselines3"
fi

cat > "$SRC/tests/conftest.py" <<'PY'
"""Run SB3's tests with GRPO where PPO stands (written by sb3-grpo's benchmarks/sb3_peer_suite.sh)."""

import stable_baselines3

from sb3_grpo import GRPO

stable_baselines3.PPO = GRPO
PY

cd "$SRC"
# the sdist's pytest settings; SB3's tests write their files under the working directory
if [ "$#" -eq 0 ]; then
    set -- tests
fi
exec nice "$PYTHON" -m pytest -p no:cacheprovider -k GRPO -q -rfE --continue-on-collection-errors -c pyproject.toml --rootdir . "$@"
