#!/bin/bash
# tests/lint/shellcheck.sh [SRC] - run shellcheck over every shell file of the
# tree: *.sh and any file whose first line names sh or bash, found with find
# (so a new script is checked without being listed anywhere). Settings are
# in .shellcheckrc at the top (sourced files are followed). A finding that is
# not a real problem is silenced where it occurs, with
# "# shellcheck disable=SCnnnn # reason", never here.
# Exit status: shellcheck's (non-zero on any finding), 2 when it is missing.
set -euo pipefail
src=${1:-${SG_SRC:-$(dirname "$0")/../..}}
cd "$src"
command -v shellcheck >/dev/null ||
    { echo "shellcheck.sh: shellcheck not installed (apt-get install shellcheck)" >&2; exit 2; }
files=()
while IFS= read -r -d '' f; do
    if [[ $f == *.sh ]] || head -n1 "$f" | grep -qE '^#!.*[/ ](ba)?sh([[:space:]]|$)'; then
        files+=("$f")
    fi
done < <(find . \( -name .git -o -name 'build*' -o -name corpus \) -prune -o \
    -type f \( -name '*.sh' -o -perm -u+x -o -path './.ci/*' \) -print0 | sort -z)
((${#files[@]} > 40)) || { echo "shellcheck.sh: only ${#files[@]} shell files found in $PWD" >&2; exit 2; }
echo "shellcheck.sh: ${#files[@]} files"
shellcheck -f gcc "${files[@]}"
echo "shellcheck.sh: no finding"
