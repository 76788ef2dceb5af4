#!/usr/bin/env bash
# Precompute vs. the diffusers ways (benchmarks/precompute_vs_naive.py) on a CUDA GPU, at full size:
# SD 1.5's architecture (UNet 860M, VAE, CLIP ViT-L text encoder) built from configs with random
# weights (nothing is downloaded; speed does not depend on the weights), 512 px, 25 steps.
# Prints the three-way table with images/s and, last, `ratios: naive=R batched=R`.
# Meant to finish in under 5 minutes on one recent GPU; TRAJECTORIES, REPEATS, DTYPE, SIZE, STEPS
# and DEVICE override the defaults, e.g. `DTYPE=float16 benchmarks/gpu.sh`.
#
#   benchmarks/gpu.sh            # from the repository root, with stepthrough's [models] extras installed
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
DEVICE="${DEVICE:-cuda}"
python - "$DEVICE" <<'PY'
import sys, torch
if not torch.cuda.is_available():
    sys.exit(f"benchmarks/gpu.sh: no CUDA GPU visible to torch {torch.__version__}; nothing measured")
print(f"GPU: {torch.cuda.get_device_name(torch.device(sys.argv[1]))}, torch {torch.__version__}")
PY
started=$SECONDS
python benchmarks/precompute_vs_naive.py \
  --family sd15 --device "$DEVICE" --size "${SIZE:-512}" --steps "${STEPS:-25}" \
  --trajectories "${TRAJECTORIES:-4}" --repeats "${REPEATS:-3}" --dtype "${DTYPE:-float32}" \
  --tolerance "${TOLERANCE:-3}" --no-builtin
echo "gpu.sh: $((SECONDS - started)) s in all"
