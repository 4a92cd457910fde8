import { Worker } from 'node:worker_threads';
import { TEAM_KERNELS, type TeamKernel } from './team-kernels.js';

/*
 * A team of threads that share one engine's kernels: the engine's own thread and T − 1 helpers,
 * each with its own instance of the kernel module over the same shared memory. The engine's
 * thread posts a task (a kernel and its arguments) in a small shared control block, takes the
 * first share itself, and waits for the helpers' shares. Helpers spin briefly on the control
 * block, then sleep in Atomics.wait: a matmul is handed over in a few microseconds with no
 * message passing, and idle helpers cost no CPU between steps.
 */

/** The kernels' exports as a team calls them: argument block (kernel-args.ts), [start, end) of its units, its thread's scratch. */
export type TeamExports = Record<TeamKernel, (args: number, start: number, end: number, scratch: number) => void>;

/** Incremented for every task posted: what the helpers wait on. */
const TASK_SEQ = 0;
const DONE = 1;
const KERNEL = 2;
const UNITS = 3;
const ALIGN = 4;
const FAILED = 5;
const SCRATCH = 6;
const SCRATCH_STRIDE = 7;
/** The byte offset of the task's argument block. */
const ARGS = 8;
const CONTROL_SLOTS = 9;
/** The kernel id that tells helpers to exit. */
const STOP = -1;
/** Polls of the control block before a waiting thread sleeps: some tens of microseconds. */
const SPIN = 20_000;

export interface TeamTask {
  readonly kernel: TeamKernel;
  /** Byte offset of the kernel's argument block, written before the task is posted. */
  readonly args: number;
  /** Independent pieces of work (rows, or attention's token × KV-head units). */
  readonly units: number;
  /** Shares are multiples of this many units (the kernel's row blocking). */
  readonly align: number;
  /** Per-thread scratch: thread i gets scratch + i · scratchStride. */
  readonly scratch: number;
  readonly scratchStride: number;
}

/** Thread `index`'s units of the task in `control`, run on `fn`. Shared by the engine's thread and the helpers. */
export function runShare(fn: TeamExports, control: Int32Array, index: number, threads: number): void {
  const units = control[UNITS];
  const align = control[ALIGN];
  const chunk = Math.ceil(units / threads / align) * align;
  const start = Math.min(units, index * chunk);
  const end = Math.min(units, start + chunk);
  if (start >= end) return;
  fn[TEAM_KERNELS[control[KERNEL]]](control[ARGS], start, end, control[SCRATCH] + index * control[SCRATCH_STRIDE]);
}

/** Waits until control[slot] differs from `seen`: spins first, then sleeps. Returns the new value. */
export function waitForChange(control: Int32Array, slot: number, seen: number): number {
  for (let i = 0; i < SPIN; i++) {
    const now = Atomics.load(control, slot);
    if (now !== seen) return now;
  }
  Atomics.wait(control, slot, seen);
  return Atomics.load(control, slot);
}

/** The helpers' loop: run each posted task's share until told to stop. */
export function helperLoop(fn: TeamExports, control: Int32Array, index: number, threads: number): void {
  // from task 0, not from what the block shows now: the first task may already be posted
  let seen = 0;
  for (;;) {
    seen = waitForChange(control, TASK_SEQ, seen);
    if (control[KERNEL] === STOP) return;
    try {
      runShare(fn, control, index, threads);
    } catch {
      Atomics.store(control, FAILED, 1);
    }
    Atomics.add(control, DONE, 1);
    Atomics.notify(control, DONE);
  }
}

export class KernelTeam {
  private constructor(
    readonly threads: number,
    private readonly control: Int32Array,
    private readonly helpers: readonly Worker[],
  ) {}

  /** Starts threads − 1 helpers over `memory`; resolves once every helper is ready. */
  static async start(threads: number, module: WebAssembly.Module, memory: WebAssembly.Memory): Promise<KernelTeam> {
    const control = new Int32Array(new SharedArrayBuffer(4 * CONTROL_SLOTS));
    const helpers = Array.from(
      { length: threads - 1 },
      (_, i) =>
        new Worker(new URL('./kernel-team-helper.js', import.meta.url), {
          workerData: { module, memory, control, index: i + 1, threads },
          // the process's flags, but those a worker refuses (a parent started with -e --input-type=module)
          execArgv: process.execArgv.filter((flag) => !flag.startsWith('--input-type')),
        }),
    );
    try {
      await Promise.all(
        helpers.map(
          (w) =>
            new Promise<void>((resolve, reject) => {
              w.once('message', () => resolve());
              w.once('error', reject);
              w.once('exit', (code) => reject(new Error(`a kernel thread exited with code ${code} while starting`)));
            }),
        ),
      );
    } catch (err) {
      for (const w of helpers) void w.terminate();
      throw err;
    }
    for (const w of helpers) {
      w.removeAllListeners();
      w.unref();
    }
    return new KernelTeam(threads, control, helpers);
  }

  /** Runs `task` on every thread of the team, this one included; returns when all shares are done. */
  run(fn: TeamExports, task: TeamTask): void {
    const c = this.control;
    c[KERNEL] = TEAM_KERNELS.indexOf(task.kernel);
    c[UNITS] = task.units;
    c[ALIGN] = task.align;
    c[SCRATCH] = task.scratch;
    c[SCRATCH_STRIDE] = task.scratchStride;
    c[ARGS] = task.args;
    Atomics.store(c, DONE, 0);
    Atomics.add(c, TASK_SEQ, 1);
    Atomics.notify(c, TASK_SEQ);
    runShare(fn, c, 0, this.threads);
    let done = Atomics.load(c, DONE);
    while (done < this.threads - 1) done = waitForChange(c, DONE, done);
    if (Atomics.exchange(c, FAILED, 0) !== 0) throw new Error(`${task.kernel} failed in a kernel thread`);
  }

  close(): void {
    this.control[KERNEL] = STOP;
    Atomics.add(this.control, TASK_SEQ, 1);
    Atomics.notify(this.control, TASK_SEQ);
    for (const w of this.helpers) void w.terminate();
  }
}
