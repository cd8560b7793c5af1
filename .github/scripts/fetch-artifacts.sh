#!/usr/bin/env bash
# Download artifact NAME from the last LIMIT successful deploy runs on main into DEST (merged).
#   .github/scripts/fetch-artifacts.sh prod-state state 1      # slim CI: the last prod manifest
#   .github/scripts/fetch-artifacts.sh gate-run artifacts/runs 10  # metrics: runtime history
# Needs GH_TOKEN (actions: read) and GITHUB_REPOSITORY. Nothing found (first deploy, expired) is not an error.
set -euo pipefail
name="$1"
dest="$2"
limit="${3:-1}"
mkdir -p "$dest"
ids="$(gh run list --repo "$GITHUB_REPOSITORY" --workflow deploy.yml --branch main --status success \
  --limit "$limit" --json databaseId --jq '.[].databaseId' || true)"
found=0
for id in $ids; do
  scratch="$(mktemp -d)"
  if gh run download "$id" --repo "$GITHUB_REPOSITORY" --name "$name" --dir "$scratch" 2>/dev/null; then
    cp -R "$scratch/." "$dest/"
    found=$((found + 1))
  fi
  rm -rf "$scratch"
done
echo "$name: artifacts of $found run(s) in $dest"
