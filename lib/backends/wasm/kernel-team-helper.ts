/**
 * A helper thread of a KernelTeam: its own instance of the kernel module over the engine's
 * shared memory, running its share of every task the engine's thread posts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { helperLoop, type TeamExports } from './kernel-team.js';

const { module, memory, control, index, threads } = workerData as { module: WebAssembly.Module; memory: WebAssembly.Memory; control: Int32Array; index: number; threads: number };
const fn = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as TeamExports;
parentPort?.postMessage('ready');
helperLoop(fn, control, index, threads);
