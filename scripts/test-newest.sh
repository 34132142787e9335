#!/usr/bin/env bash
# Install the NEWEST releases that pyproject.toml's ranges allow (no lock; torch held at its CPU wheel by
# constraints-torch.txt) into a fresh virtual environment, run the default test suite, and run `cae verify`
# at seeds 0-3, printing each claim's status so the verdicts can be compared with a run under the lock
# (scripts/verdicts.py compares two such runs).
# Usage: bash scripts/test-newest.sh [OUTDIR]   (default OUTDIR: a new temporary folder)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-$(mktemp -d)}
mkdir -p "$out"
python -m venv "$out/venv"
"$out/venv/bin/python" -m pip install -q --upgrade -c constraints-torch.txt -e ".[all]" || exit 2
"$out/venv/bin/python" -m pip freeze --exclude-editable > "$out/freeze.txt"
"$out/venv/bin/python" -m pytest -q -p no:cacheprovider 2>&1 | tee "$out/pytest.txt" | tail -n 5
status=${PIPESTATUS[0]}
for seed in 0 1 2 3; do
  "$out/venv/bin/cae" verify --seed "$seed" --json "$out/verify-seed$seed.json" > "$out/verify-seed$seed.txt" 2>&1
  echo "cae verify --seed $seed: exit $?"
done
echo "outputs in $out"
exit "$status"
