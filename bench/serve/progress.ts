/** A one-line progress bar on stderr, drawn only when stderr is a terminal. */
export class ProgressBar {
  private done = 0;
  private readonly enabled: boolean;

  constructor(
    private readonly total: number,
    private readonly label: string,
  ) {
    this.enabled = process.stderr.isTTY === true;
  }

  tick(failed = false): void {
    this.done++;
    if (!this.enabled) return;
    const width = 30;
    const filled = Math.round((this.done / this.total) * width);
    process.stderr.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total}${failed ? ' (failures)' : ''}`);
    if (this.done === this.total) process.stderr.write('\n');
  }
}
