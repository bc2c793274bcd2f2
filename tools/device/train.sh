#!/usr/bin/env bash
# On a lent GPU machine: fine-tunes, side by side on its one GPU, the shipped models still below
# their issue's bar (the gray and colour denoisers, issue 2; the inpainter, issue 4), each for
# BUDGET seconds of steps (--time-budget: the schedule is fitted to the time and runs to its end),
# and leaves each checkpoint and log in $OUT. tools/device/README.md says what to do before and after.
#
#   bash tools/device/train.sh [BUDGET_SECONDS [DEVICE [OPTION...]]]     e.g. 420 cuda
#
# OPTIONs go to every run, after its own (so they win): a dry run on a CPU here, which tries the
# whole path in a few minutes, is  OUT=/tmp/out PYTHON=.venv/bin/python bash tools/device/train.sh
# 30 cpu --batch-size 2 --patch-size 64 --workers 1
#
# The stylize networks (issue 8) are not here: their feature network (53 MB) does not fit the
# 64 MiB a call may carry beside the denoising and inpainting data.
set -uo pipefail
budget=${1:-420}
device=${2:-cuda}
shift $(( $# < 2 ? $# : 2 ))
extra=("$@")
out=${OUT:-runs/device-out}
python=${PYTHON:-python3}
mkdir -p "$out"
# the machine has torch, click, pluggy, opencv, onnx(runtime), safetensors: install only ours
"$python" -c "import imgrestore_denoise" 2>/dev/null ||
  "$python" -m pip install -q --no-deps --no-build-isolation --no-index -e . || exit 1
[ -e ../shared/data ] || { mkdir -p ../shared && ln -s "$PWD/.device/data" ../shared/data; }
data=../shared/data/train
{ nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"; nproc; } > "$out/machine.txt"

train() {  # NAME WORKERS TASK OPTIONS...: one run, its log and final checkpoint into $OUT
  local name=$1 workers=$2
  shift 2
  "$python" -m imgrestore train "$@" --device "$device" --time-budget "$budget" --steps 1000000 \
    --workers "$workers" --threads 2 --checkpoint-every 500 --validate-every 2000 --log-every 200 \
    --out "runs/device-$name" "${extra[@]}" > "$out/$name.log" 2>&1
  local status=$?
  cp "runs/device-$name/last.safetensors" "$out/$name.safetensors" 2>/dev/null
  echo "$name: exit $status" >> "$out/machine.txt"
}

train gray 2 denoise --gray --data "$data/Train400" --data "$data/Sun_Hays80" --data "$data/photos" \
  --init .device/init/denoise-gray.safetensors --batch-size 128 --lr 5e-4 --warmup 300 &
train color 2 denoise --color --data "$data/Sun_Hays80" --data "$data/photos" \
  --init .device/init/denoise-color.safetensors --batch-size 64 --lr 5e-4 --warmup 300 &
# Telea's coarse fill of each training crop is on the CPU (~12 ms a 192 px crop): most workers go here
train inpaint 8 inpaint --data "$data/Sun_Hays80" --data "$data/photos" --init .device/init/inpaint-inpaint.safetensors \
  --patch-size 192 --batch-size 32 --adversarial-weight 0.01 --lr 2e-4 --warmup 300 &
wait
cat "$out/machine.txt"
for log in "$out"/*.log; do echo "== $log"; grep -E "time-budget|val_|Error|error" "$log" | tail -n 4; done
