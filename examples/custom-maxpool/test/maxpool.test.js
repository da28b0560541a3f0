// @ts-check
// The kernel author's tests, with node:test (`npm test`). vitest and jest take the same calls:
//   test('…', () => assertMaxPool(maxPoolBackend(lastMaxPool), { seed: 1 }));
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdmissibilityError, assertMaxPool, checkMaxPool, maxPoolBackend } from 'adzone/testing';
import { fltMinMaxPool, lastMaxPool } from '../maxpool.js';

test('the last-rule MaxPool backward is an admissible Jacobian on every lone-MaxPool generator', async () => {
  const report = await assertMaxPool(maxPoolBackend(lastMaxPool), { seed: 1 });
  assert.equal(report.failed, false);
  assert.equal(report.tieRule.rule, 'last');
  assert.ok(report.draws >= 800, `${report.draws} draws`);
});

test('adzone catches the running maximum that starts at 2^-126', async () => {
  const backend = maxPoolBackend(fltMinMaxPool);
  await assert.rejects(
    assertMaxPool(backend, { seed: 1 }),
    (e) => e instanceof AdmissibilityError && /is not admissible: defect/.test(e.message),
  );

  const report = await checkMaxPool(backend, { seed: 1 });
  const cx = report.counterexample;
  assert.ok(report.failed && cx, 'the seeded bug must be caught');
  assert.equal(cx.kind, 'defect');
  // The shrunk point has a window whose maximum lies below 2^-126: where the bug lives.
  assert.ok(Math.min(...cx.case.problem.input.data) < 2 ** -126, cx.case.problem.input.data.join(', '));
  // The message shows exact and rounded values and the replay line.
  assert.match(report.message, /input \(exact \| in binary32\):/);
  assert.match(
    report.message,
    /Replay: await assertMaxPool\(backend, \{ generators: \["[a-z0-9-]+"\], seed: 1, path: "[\d:]+", precisions: \["32"\] \}\)/,
  );

  // The replay line re-runs exactly that point: the same counterexample, at once.
  const again = await checkMaxPool(backend, { generators: [cx.generator], seed: 1, path: cx.path });
  assert.equal(again.counterexample?.kind, 'defect');
  assert.deepEqual(again.counterexample?.case.problem, cx.case.problem);
});
