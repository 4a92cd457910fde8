/**
 * Gives gpu.js a WebGPU implementation in Node: the `webgpu` package (Dawn) provides
 * `navigator.gpu`, which Node 20 lacks. Loaded only when asked for; an optional dependency, so
 * a platform without its prebuilt binaries simply has no WebGPU.
 */
let provided: Promise<boolean> | null = null;

/** Installs `navigator.gpu` once per thread; resolves false when the package cannot load. */
export function provideNavigatorGpu(): Promise<boolean> {
  provided ??= (async () => {
    const g = globalThis as { navigator?: { gpu?: unknown } };
    if (g.navigator?.gpu) return true;
    try {
      const webgpu = (await import('webgpu' as string)) as { create(flags: string[]): unknown; globals: Record<string, unknown> };
      Object.assign(globalThis, webgpu.globals);
      const gpu = webgpu.create([]);
      if (g.navigator) Object.assign(g.navigator, { gpu });
      else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
      return true;
    } catch {
      return false;
    }
  })();
  return provided;
}

/** Whether a WebGPU adapter answers, after providing navigator.gpu. */
export async function hasWebGpuAdapter(): Promise<boolean> {
  if (!(await provideNavigatorGpu())) return false;
  try {
    const gpu = (globalThis as unknown as { navigator: { gpu: { requestAdapter(): Promise<unknown> } } }).navigator.gpu;
    return (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}
