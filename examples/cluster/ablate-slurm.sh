#!/usr/bin/env bash
# adzone ablate as a Slurm job array: every array task runs one slice of the grid into its own
# folder, $OUT/shard-<i>-of-<n>; adzone reads the slice from SLURM_ARRAY_TASK_ID, _MIN, _MAX, _STEP
# and _COUNT itself (--shard auto).
#
#   sbatch examples/cluster/ablate-slurm.sh                                   # the grid below, 4 tasks
#   GRID=my-grid.yaml OUT=runs/my-grid sbatch --array=0-15 examples/cluster/ablate-slurm.sh
#
# Any time (a partial table), and when every task has ended:
#   node bin/adzone.js ablate --merge runs/lenet5-mnist-sgd --out reports/ablate/lenet5-mnist-sgd
#
# A task that is killed (time limit, preemption, node failure) continues its cells from their
# checkpoints when it runs again (--requeue, or the same array index resubmitted); finished cells
# are skipped. Arguments after the script name go to adzone (e.g. --dry-run to list the slice).
#SBATCH --job-name=adzone-ablate
#SBATCH --array=0-3
#SBATCH --cpus-per-task=2
#SBATCH --mem=4G
#SBATCH --time=24:00:00
#SBATCH --requeue
#SBATCH --output=adzone-ablate-%A_%a.log
set -euo pipefail
# the repository, with `npm ci` run in it (sbatch from its root, or set ADZONE_DIR)
cd "${ADZONE_DIR:-${SLURM_SUBMIT_DIR:-.}}"
GRID="${GRID:-reports/ablate/grids/lenet5-mnist-sgd.yaml}"
OUT="${OUT:-runs/lenet5-mnist-sgd}"
exec node bin/adzone.js ablate "$GRID" --shard auto --out "$OUT" --quiet "$@"
