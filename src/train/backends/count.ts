/** Accuracy counting shared by every backend's trainer. */

/** How many rows of `logits` ([N, K] flat) have their first maximum at the label; NaN rows count as wrong. */
export function countCorrect(logits: ArrayLike<number>, labels: ArrayLike<number>, classes: number): number {
  let correct = 0;
  for (let n = 0; n < labels.length; n++) {
    let best = 0;
    let bestV = -Infinity;
    let nan = false;
    for (let k = 0; k < classes; k++) {
      const v = logits[n * classes + k];
      if (Number.isNaN(v)) nan = true;
      if (v > bestV) {
        bestV = v;
        best = k;
      }
    }
    if (!nan && bestV > -Infinity && best === labels[n]) correct++;
  }
  return correct;
}
