#!/usr/bin/env bash
# Prints the path of a CPython interpreter of the given version (the functions' Lambda runtime,
# e.g. 3.12): the .venv must be built with it so that `chalice package` picks the wheels that
# runtime accepts and compiles the package's bytecode for it.
# Looks at pythonX.Y on PATH (pyenv's shims included), then pyenv's and uv's installs.
set -euo pipefail
want="${1:?usage: find-python.sh X.Y}"
works() { "$1" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$want'.split('.'))))" >/dev/null 2>&1; }
candidates=("python$want")
if command -v pyenv >/dev/null 2>&1; then
  root="$(pyenv root)"
  for dir in "$root"/versions/"$want".*; do candidates+=("$dir/bin/python$want"); done
fi
for dir in "$HOME"/.pyenv/versions/"$want".* "$HOME"/.local/share/uv/python/cpython-"$want".*; do
  candidates+=("$dir/bin/python$want")
done
candidates+=("/usr/bin/python$want" "/usr/local/bin/python$want")
for python in "${candidates[@]}"; do
  if works "$python"; then
    # A pyenv shim answers only where its version is selected: resolve it to the real binary.
    command -v "$python" >/dev/null 2>&1 && python="$(command -v "$python")"
    "$python" -c "import sys; print(sys.executable)"
    exit 0
  fi
done
echo "Python $want was not found; it is the functions' runtime and builds .venv. Install it with" \
  "'apt-get install python$want python$want-venv', 'pyenv install $want' or 'uv python install $want'." >&2
exit 1
