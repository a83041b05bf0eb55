#!/usr/bin/env bash
# Package trained Crafter models into downloads/crafter/ (float16 weights, .model files, codebook).
# Usage: downloads/crafter/make_shipped.sh [LOW_LEVEL_WEIGHTS] [PRIOR_WEIGHTS] [CODEBOOK_DIR]
set -euo pipefail
low=${1:-results/steve1/weights/trained_with_script_best.weights}
prior=${2:-results/goal_prior/weights/trained_with_script_best.weights}
codebook=${3:-data/codebook/tsne_n50_s1}
out=downloads/crafter
python -m VPT.convert_weights --in_weights "$low" --out_weights "$out/steve1.weights" --dtype float16
cp "$(dirname "$low")/trained_with_script.model" "$out/steve1.model"
python -m VPT.convert_weights --in_weights "$prior" --out_weights "$out/goal_prior.weights" --dtype float16
cp "$(dirname "$prior")/trained_with_script.model" "$out/goal_prior.model"
cp "$codebook/codebook.npz" "$out/codebook.npz"
cp "$codebook/contact_sheet.png" "$out/codebook_contact_sheet.png"
du -ch "$out"/* | tail -1
