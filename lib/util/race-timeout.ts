/**
 * Waits for `work`, but at most `timeoutMs`: true when it settled in time, false when the time
 * ran out first. A rejection of `work` propagates. The timer is cleared either way, so a wait
 * that ended early leaves nothing behind to hold the process open.
 */
export async function raceTimeout(work: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  try {
    return await Promise.race([work.then(() => true as const), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
