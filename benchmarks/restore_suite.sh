#!/usr/bin/env bash
# Every restoration benchmark behind README's table, one `benchmarks/restore.py` run each, then the table.
#   bash benchmarks/restore_suite.sh [DATA_VAL_DIR] [OUT_DIR]
# `vae` is the model and path the app uses for each task (problems.py, serving.py). CBM3D runs on all of Kodak24
# for the denoising rows, and on the first CBM3D_LIMIT images for the blind camera row (set CBM3D_LIMIT=24 for all).
set -euo pipefail
cd "$(dirname "$0")/.."
VAL=${1:-../shared/data/val}
OUT=${2:-benchmarks/results}
PY=${PYTHON:-python}
CBM3D_LIMIT=${CBM3D_LIMIT:-8}
run() { echo "== $*"; "$PY" benchmarks/restore.py --threads 2 "$@"; }

for sigma in 15 25 50; do
  run --task denoise --level "$sigma" --data "$VAL/Set12" --methods noisy,vae,vae_x8,vae_mean,bm3d,nlm,tv \
      --json "$OUT/restore_denoise${sigma}_Set12.json"
  run --task denoise --level "$sigma" --data "$VAL/Kodak24" --methods noisy,vae,vae_x8,bm3d,nlm \
      --json "$OUT/restore_denoise${sigma}_Kodak24.json"  # CBM3D on all 24 (about 10 min a level)
done
run --task poisson --level 30 --data "$VAL/Kodak24" --methods noisy,vae,nlm --json "$OUT/restore_poisson30_Kodak24.json"
run --task salt_and_pepper --level 10 --data "$VAL/Kodak24" --methods noisy,vae,median \
    --json "$OUT/restore_salt_and_pepper10_Kodak24.json"
run --task camera --level 15 --data "$VAL/Kodak24" --methods noisy,vae,nlm --json "$OUT/restore_camera15_Kodak24.json"
run --task camera --level 15 --data "$VAL/Kodak24" --methods noisy,vae,bm3d --limit "$CBM3D_LIMIT" \
    --json "$OUT/restore_camera15_Kodak24_cbm3d.json"
for q in 10 20; do
  run --task jpeg --level "$q" --data "$VAL/classic4" --methods noisy,vae,vae_x8,tv --json "$OUT/restore_jpeg${q}_classic4.json"
done
for s in 2 4; do
  run --task sr --level "$s" --data "$VAL/Set5" --methods bicubic,vae,vae_x8,unsharp --json "$OUT/restore_sr${s}_Set5.json"
done
run --task deblur --level 1.6 --data "$VAL/Set5" --methods noisy,vae,vae_x8,richardson_lucy,unsharp \
    --json "$OUT/restore_deblur1.6_Set5.json"
run --task lowlight --level 0.3 --data "$VAL/Set5" --methods noisy,vae,gamma,clahe \
    --json "$OUT/restore_lowlight0.3_Set5.json"
"$PY" benchmarks/restore_table.py "$OUT"/restore_*.json
