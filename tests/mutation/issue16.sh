#!/usr/bin/env bash
# The five mutations of issue 16, each applied to a scratch copy of src/ and run against the
# tests that must catch it: the script fails if a mutation no longer applies (update it) or if
# the tests pass with it (a promise went unguarded). The working tree is never changed.
#
#     tests/mutation/issue16.sh            # from the repository root, venv in .venv
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${PYTHON:-.venv/bin/python}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
status=0

mutate() {  # name, file under src/dataforseo_bulk, sed expression, pytest -k expression
  local name=$1 file=$2 expression=$3 selection=$4
  rm -rf "$scratch/src" && cp -r src "$scratch/src"
  sed -i "$expression" "$scratch/src/dataforseo_bulk/$file"
  if cmp -s "src/dataforseo_bulk/$file" "$scratch/src/dataforseo_bulk/$file"; then
    echo "NOT APPLIED  $name: the code changed; update the sed expression"; status=1; return
  fi
  if PYTHONPATH="$scratch/src" "$python" -m pytest -q -p no:cacheprovider -x \
      tests/promises/test_issue_mutations.py -k "$selection" > "$scratch/out" 2>&1; then
    echo "SURVIVED     $name"; status=1
  else
    echo "caught       $name ($(tail -1 "$scratch/out"))"
  fi
}

mutate "budget checked on a chunk's first attempt only" engine.py \
  's/if not self\._budget\.reserve(worst_case):/if attempt == 1 and not self._budget.reserve(worst_case):/' \
  max_cost
mutate "network error message with the Authorization header" api.py \
  's/error=f"network error talking to {where}: {detail}"/error=f"network error talking to {where}: {detail} {exc.request.headers.get(\x27authorization\x27)}"/' \
  credentials
mutate "40501 split cap raised to 10**9" _constants.py \
  's/^MAX_SPLIT_CALLS_PER_CHUNK: Final = 64/MAX_SPLIT_CALLS_PER_CHUNK: Final = 10**9/' \
  40501
mutate "max_retries= ignored" client.py \
  's/RetryPolicy(max_retries=self\._options\.max_retries)/RetryPolicy()/' \
  max_retries
mutate "on_retry never called" engine.py \
  's/^\( *\)self\._on_retry(details)/\1pass/' \
  on_retry
exit $status
