#!/usr/bin/env bash
# Stages what tools/device/train.sh needs on a lent GPU machine, and keeps weights/ from travelling.
#
# Why: the device tool sends the working tree (tracked and untracked-not-ignored files) plus the
# paths a call carries, 64 MiB at most; weights/ alone is over 120 MB, and ../shared/data does not
# travel at all. So this copies the training sets and the shipped checkpoints to fine-tune into
# .device/ (ignored; the call carries it), and takes weights/ out of the index and ignores it until
# `--undo`. Meanwhile weights/ is untouched on disk, but a commit would delete it: undo first.
#
#   bash tools/device/stage.sh           before the device call
#   bash tools/device/stage.sh --undo    after it: the index holds weights/ as committed again
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
exclude=$(git rev-parse --git-path info/exclude)
if [ "${1:-}" = --undo ]; then
  sed -i '\#^/weights/$#d' "$exclude"
  git reset -q -- weights
  echo "weights/ is tracked again; git status shows no change there:"
  git status --short -- weights
  exit 0
fi
git diff --cached --quiet || { echo "stage.sh: this changes the index; commit or unstage what is staged first" >&2; exit 1; }
data=${IMGRESTORE_DATA:-../shared/data}
rm -rf .device
mkdir -p .device/data/train .device/init
for set in Train400 Sun_Hays80 photos; do cp -r "$data/train/$set" .device/data/train/; done
for model in denoise/gray denoise/color inpaint/inpaint; do
  cp "weights/$model.safetensors" ".device/init/$(dirname "$model")-$(basename "$model").safetensors"
done
git rm -r -q --cached weights
mkdir -p "$(dirname "$exclude")"; grep -qxs '/weights/' "$exclude" || echo '/weights/' >> "$exclude"
travelling=$( (git ls-files -z --cached --others --exclude-standard; find .device -type f -print0) | du -cb --files0-from=- | tail -1 | cut -f1)
echo "staged: $((travelling / 1048576)) MiB travel (the limit is 64)."
echo "weights/ is out of the index until 'bash tools/device/stage.sh --undo': do not commit before that."
echo "device call: run(command='bash tools/device/train.sh 420', carry=['.device'], timeout_s=570)"
