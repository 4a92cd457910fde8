import assert from 'node:assert/strict';
import { KERNEL_TOLERANCE } from '../../lib/backends/kernels.js';

/** Asserts |actual − expected| ≤ atol + rtol·|expected| elementwise, naming the worst element. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = KERNEL_TOLERANCE): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const excess = Math.abs(actual[i] - expected[i]) - (tol.atol + tol.rtol * Math.abs(expected[i]));
    if (!(excess <= worstExcess)) {
      worst = i;
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
    }
  }
  if (worst >= 0) assert.fail(`${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (tolerance ${tol.atol} + ${tol.rtol}·|expected|)`);
}
