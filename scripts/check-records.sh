#!/usr/bin/env bash
# The check of a pull request that touches results/ (.github/workflows/records.yml runs exactly this), and what a
# contributor runs before opening one:
#   bash scripts/check-records.sh origin/main            # writes record-preview/
# 1. validates every record changed since BASE (`fecbench leaderboard check results --changed-since BASE`):
#    schema, strict types, scales, intervals, counts, the benchmark claimed; exit 2 names the file and field;
# 2. builds the site from results/ as it would be published (OUT/site/);
# 3. builds the site of BASE's results/ with the same fecbench and copies every page that differs (added or
#    changed) into OUT/changed/, listed with the removed ones in OUT/CHANGES.txt: exactly what the merge would
#    change on the published leaderboard.
# tests/test_record_check.py runs it on a scratch git repository.
set -euo pipefail
base="${1:?usage: check-records.sh BASE_REVISION [OUT_DIR]}"
out="${2:-record-preview}"
[[ "$out" == /* ]] || out="$PWD/$out" # relative to where it is run, before the cd below
fecbench="${FECBENCH:-fecbench}"
cd "$(dirname "$0")/.."

echo "+ fecbench leaderboard check results --changed-since $base"
"$fecbench" leaderboard check results --changed-since "$base"

rm -rf "$out"
mkdir -p "$out/changed"
echo "+ fecbench leaderboard build results --out $out/site"
"$fecbench" leaderboard build results --out "$out/site"

before="$(mktemp -d)"
trap 'rm -rf "$before"' EXIT
mkdir -p "$before/tree"
if git cat-file -e "$base:results" 2>/dev/null; then
  git archive "$base" results | tar -x -C "$before/tree"
fi
if [[ -d "$before/tree/results" ]] && "$fecbench" leaderboard build "$before/tree/results" --out "$before/site" >/dev/null; then
  :
else
  echo "the site of $base could not be built with this fecbench: every page counts as changed" >&2
  mkdir -p "$before/site"
fi

: >"$out/CHANGES.txt"
while IFS= read -r -d '' page; do
  page="${page#./}"
  if [[ ! -f "$before/site/$page" ]]; then
    status=added
  elif ! cmp -s "$before/site/$page" "$out/site/$page"; then
    status=changed
  else
    continue
  fi
  echo "$status $page" >>"$out/CHANGES.txt"
  mkdir -p "$out/changed/$(dirname "$page")"
  cp "$out/site/$page" "$out/changed/$page"
done < <(cd "$out/site" && find . -type f -print0 | sort -z)
while IFS= read -r -d '' page; do
  page="${page#./}"
  [[ -f "$out/site/$page" ]] || echo "removed $page" >>"$out/CHANGES.txt"
done < <(cd "$before/site" && find . -type f -print0 | sort -z)

if [[ -s "$out/CHANGES.txt" ]]; then
  echo "pages the merge would change (preview in $out/changed/, the whole site in $out/site/):"
  sed 's/^/  /' "$out/CHANGES.txt"
else
  echo "no published page changes" | tee "$out/CHANGES.txt"
fi
