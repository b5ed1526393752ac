#!/usr/bin/env bash
# CI artifact snapshot. Job 1 archives its outputs with a checksum manifest and "uploads" them
# (here: copies them to $UPLOAD); job 2 "downloads" them, proves them intact and restores them.
set -euo pipefail
UPLOAD=${UPLOAD:-upload}
RUN=${RUN_ID:-local}

# job 1: build, snapshot, upload
gulp-backup create build reports --out artifacts --name "ci-$RUN" --quiet
mkdir -p "$UPLOAD" && cp artifacts/ci-"$RUN".* "$UPLOAD"/

# job 2: download, check with standard tools and with gulp-backup, restore
mkdir -p downloaded && cp "$UPLOAD"/ci-"$RUN".* downloaded/
(cd downloaded && sha256sum -c "ci-$RUN.tar.gz.sha256")
gulp-backup verify "downloaded/ci-$RUN.manifest.jsonl"
gulp-backup restore "downloaded/ci-$RUN.manifest.jsonl" --to restored
