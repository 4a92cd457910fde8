/**
 * The piscina entry of an engine worker. Each worker runs a single task, its engine loop, from
 * start-up until shutdown; the pool's job is to hold the threads and replace one that dies.
 */
import { runEngineWorker, type EngineWorkerTask } from '../lib/pool/engine-loop.js';

export default function engineWorker(task: EngineWorkerTask): Promise<void> {
  return runEngineWorker(task);
}
