#!/usr/bin/env bash
# The DivNoising rows of README (section DivNoising) and of checkpoints/divnoising-vae's card, one
# `benchmarks/restore.py` run each, then the card's table.
#   bash benchmarks/divnoising_suite.sh [DATA_VAL_DIR] [OUT_DIR]
# Kodak24 runs on its first LIMIT images (CBM3D takes about 50 s an image; LIMIT=24 for all of them).
# The per-image fit (divnoising_fit, 60 s an image) has its own command in README.
set -euo pipefail
cd "$(dirname "$0")/.."
VAL=${1:-../shared/data/val}
OUT=${2:-benchmarks/results}
PY=${PYTHON:-python}
LIMIT=${LIMIT:-8}
run() { echo "== $*"; "$PY" benchmarks/restore.py --threads 2 "$@"; }

for sigma in 25 15 50; do
  methods=noisy,divnoising,divnoising_mode,bm3d,nlm
  if [ "$sigma" = 25 ]; then methods=noisy,divnoising,divnoising_mode,divnoising_x8,bm3d,nlm; fi  # the bar's row
  run --task denoise --level "$sigma" --data "$VAL/Set12" --methods "$methods" \
      --json "$OUT/divnoising_denoise${sigma}_Set12.json"
done
run --task denoise --level 25 --data "$VAL/Kodak24" --methods noisy,divnoising_mode,bm3d,nlm --limit "$LIMIT" \
    --json "$OUT/divnoising_denoise25_Kodak24_limit${LIMIT}.json"
for sigma in 15 50; do
  run --task denoise --level "$sigma" --data "$VAL/Kodak24" --methods noisy,divnoising_mode,nlm --limit "$LIMIT" \
      --json "$OUT/divnoising_denoise${sigma}_Kodak24_limit${LIMIT}.json"
done
"$PY" benchmarks/restore_table.py "$OUT"/divnoising_*.json --card checkpoints/divnoising-vae
