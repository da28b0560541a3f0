#!/usr/bin/env bash
# The paper's experiments (docs/DESIGN.md §4) whose tables are committed under reports/ablate/, one grid
# after the other. Give a shard to spread them over processes or machines; each process skips the
# runs that are finished and resumes interrupted ones, so this is also the command to continue:
#   bash scripts/ablate-paper.sh 1/2 & bash scripts/ablate-paper.sh 2/2; wait
set -euo pipefail
cd "$(dirname "$0")/.."
shard=${1:-1/1}
grids=${GRIDS:-lenet5-mnist-sgd lenet5-mnist-adam-bn cifar10-vgg11-resnet18 imagenet-resnet18-smoke cifar10-bn-wide cifar10-vgg11-bn-seed2 cifar10-resnet18-stem-nobn cifar10-resnet18-stem-bn8 cifar10-resnet18-stem-seed2}
for g in $grids; do
  node bin/adzone.js ablate "reports/ablate/grids/$g.yaml" --out "reports/ablate/$g" --shard "$shard" --quiet
done
