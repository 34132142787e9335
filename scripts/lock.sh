#!/usr/bin/env bash
# Regenerate constraints.txt, the lock of the documented install: the newest releases that satisfy
# pyproject.toml's ranges, with torch held at the CPU wheel (constraints-torch.txt), every extra included.
# Usage: bash scripts/lock.sh   (then run the tests: python -m pytest; commit constraints.txt if they pass)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(mktemp -d)/venv
python -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade -c constraints-torch.txt -e ".[all]"
{
  echo "# Lock of the documented install (python -m pip install -c constraints.txt -e \".[dev]\"): exact versions"
  echo "# of every dependency, direct and transitive, of every extra. Regenerate with: bash scripts/lock.sh"
  echo "# (newest releases within pyproject.toml's ranges; torch held at the CPU wheel of constraints-torch.txt)."
  # torch's local version label (+cpu) is dropped: torch==2.13.0 matches the CPU wheel and nothing else here
  "$venv/bin/python" -m pip freeze --exclude-editable | sed 's/^torch==\([0-9.]*\)+cpu$/torch==\1/' | LC_ALL=C sort -f
} > constraints.txt
echo "wrote constraints.txt ($(grep -vc '^#' constraints.txt) pins) from $venv"
