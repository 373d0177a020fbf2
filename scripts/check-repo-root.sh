#!/usr/bin/env bash
# Fails when the repository root holds a tracked entry, or an untracked one git does not
# ignore (about to be committed), that is not one of the expected ones: a stray file such
# as one named `0` from a redirect typo. Run by `make test`.
# A new top-level file or folder is added here on purpose, with the change that needs it.
set -euo pipefail
cd "$(dirname "$0")/.."

EXPECTED_FILES=(.clang-format .gitignore CMakeLists.txt Makefile README.md)
EXPECTED_DIRS=(.ci bench dashboard docs examples plugins scripts src tests)

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # The first path component of every tracked file and every untracked, unignored one.
  entries=$(git ls-files --cached --others --exclude-standard | cut -d/ -f1 | sort -u)
else
  # Not a git checkout (an exported tree): check what is on disk instead, minus build output.
  entries=$(find . -mindepth 1 -maxdepth 1 ! -name build ! -name portico-data -printf '%f\n' | sort -u)
fi

unexpected=()
while IFS= read -r entry; do
  [ -n "$entry" ] || continue
  ok=0
  if [ -d "$entry" ]; then
    for d in "${EXPECTED_DIRS[@]}"; do [ "$entry" = "$d" ] && ok=1; done
  else
    for f in "${EXPECTED_FILES[@]}"; do [ "$entry" = "$f" ] && ok=1; done
  fi
  [ $ok -eq 1 ] || unexpected+=("$entry")
done <<< "$entries"

if [ ${#unexpected[@]} -gt 0 ]; then
  echo "check-repo-root: unexpected entries at the repository root: ${unexpected[*]}" >&2
  echo "  (remove them, or add them to EXPECTED_FILES / EXPECTED_DIRS in scripts/check-repo-root.sh)" >&2
  exit 1
fi
echo "check-repo-root: $(wc -l <<< "$entries") root entries, all expected"
