#!/usr/bin/env bash
# Compression scaling on a many-core machine, side by side with `tar | pigz -6 -p N` in one run.
# That machine has no Node.js and no registry: first, here,
#   PATH=/path/to/node24/bin:$PATH ../shared/tools/pack-for-many-cores.sh src/cli/bin.ts   (Node >= 22.15 for zstd)
#   npx --no-install esbuild bench/corpus.ts --bundle --platform=node --format=esm --outfile=.many-cores/corpus.mjs
#   cp "$(command -v zstd)" .many-cores/ && cp -L "$(ldconfig -p | awk '/libzstd.so.1 .*x86-64/{print $NF; exit}')" .many-cores/
# then run this there with .many-cores carried (the `device` tool). Results go to $OUT/many-cores.txt.
# The zstd rows (gulp-backup --codec zstd against tar | zstd -3 -T N) run when both are there.
#   SCALE (0.3: ≈300 MB of the large corpus), CORES ("1 2 4 8 16"), SMALL_SCALE (0.5) tune the run.
set -euo pipefail
source .many-cores/env.sh
SCALE=${SCALE:-0.3}
SMALL_SCALE=${SMALL_SCALE:-0.5}
CORES=${CORES:-1 2 4 8 16}
RESULTS=${OUT:-/tmp}/many-cores.txt
WORK=$(mktemp -d)
CLI="node $PWD/.many-cores/cli.mjs"
# zstd, when packed: the binary beside its library, and a Node.js that has zstd.
ZSTD=""
if [ -x .many-cores/zstd ] && node -e "process.exit('zstdCompressSync' in require('zlib') ? 0 : 1)"; then
  export LD_LIBRARY_PATH=$PWD/.many-cores${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  ZSTD=$PWD/.many-cores/zstd
fi
TIMEFORMAT=%R
seconds() { { time "$@" >/dev/null 2>&1; } 2>&1; }
# Seconds and peak RSS (KB) of one command, where GNU time is there ("-" for the RSS otherwise).
timed() { if [ -x /usr/bin/time ]; then /usr/bin/time -f '%e %M' -o "$WORK/time" "$@" >/dev/null 2>&1; cat "$WORK/time"; else echo "$(seconds "$@") -"; fi; }
say() { echo "$*" | tee -a "$RESULTS"; }

say "# $(nproc) cores, $(node --version), pigz $(pigz --version 2>&1 | awk '{print $2}'), zstd ${ZSTD:+$($ZSTD --version | grep -o 'v[0-9.]*' | head -1)}, $(date -u +%FT%TZ)"
large=$(node .many-cores/corpus.mjs large --scale "$SCALE")
small=$(node .many-cores/corpus.mjs small --scale "$SMALL_SCALE")
for corpus in "$large" "$small"; do
  dir=$(dirname "$corpus") name=$(basename "$corpus")
  bytes=$(du -sb "$corpus" | cut -f1)
  tar -cf - -C "$dir" "$name" > /dev/null # into the page cache: both sides read warm files
  say "## backup $name, $((bytes / 1000000)) MB: cores, seconds (tar | pigz -6), seconds (gulp-backup create, SHA-256 of every file), MB/s each, peak RSS KB (gulp-backup)"
  for n in $CORES; do
    p=$(seconds sh -c "tar -cf - -C '$dir' '$name' | pigz -6 -p $n > '$WORK/p.tar.gz'")
    read -r o rss < <(timed $CLI create "$name" --cwd "$dir" --out "$WORK/out" --name "b$n" -j "$n" -q)
    say "$n $p $o $(echo "scale=1; $bytes / 1000000 / $p" | bc) $(echo "scale=1; $bytes / 1000000 / $o" | bc) $rss"
  done
  if [ -n "$ZSTD" ]; then
    say "## backup $name with zstd -3: cores, seconds (tar | zstd -3 -T N), seconds (gulp-backup create --codec zstd), peak RSS KB (gulp-backup)"
    for n in $CORES; do
      z=$(seconds sh -c "tar -cf - -C '$dir' '$name' | $ZSTD -q -3 -T$n > '$WORK/z.tar.zst'")
      rm -rf "$WORK/zout"
      o=$(timed $CLI create "$name" --cwd "$dir" --out "$WORK/zout" --name z -j "$n" -q --codec zstd)
      say "$n $z $o"
    done
    rm -rf "$WORK/zout"
  fi
  last=$(echo $CORES | awk '{print $NF}')
  say "## restore $name (from the -j $last backup): cores, seconds (pigz -d | tar -x), seconds (gulp-backup restore, every hash checked)"
  for n in 1 4 $last; do
    rm -rf "$WORK/t" "$WORK/r"; mkdir "$WORK/t"
    p=$(seconds sh -c "pigz -d -c '$WORK/p.tar.gz' | tar -x -C '$WORK/t'")
    o=$(seconds $CLI restore "$WORK/out/b$last.tar.gz" --to "$WORK/r" -j "$n" -q)
    say "$n $p $o"
  done
  rm -rf "$WORK/out" "$WORK/t" "$WORK/r"
done
rm -rf "$WORK"
