#!/usr/bin/env bash
# make_repo.sh DIR — create the tiny git repo the mini-swe-agent fixtures work on:
# README.md and calc.py (add() has a bug: it subtracts), one commit.
set -euo pipefail
if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
dir=$1
mkdir -p "$dir"
cd "$dir"
if [ -e .git ]; then
    echo "$dir is already a git repo" >&2
    exit 1
fi
cat > README.md <<'MD'
# demo

A tiny repository for velora's mini-swe-agent tests.
MD
cat > calc.py <<'PY'
def add(a, b):
    return a - b


if __name__ == "__main__":
    print(add(2, 3))
PY
git init -q
git symbolic-ref HEAD refs/heads/main
git config user.name "velora test"
git config user.email "velora-test@example.invalid"
git config commit.gpgsign false
git add README.md calc.py
GIT_AUTHOR_DATE="2024-01-01T00:00:00Z" GIT_COMMITTER_DATE="2024-01-01T00:00:00Z" \
    git commit -q -m "Initial commit"
