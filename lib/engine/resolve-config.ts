import { checkKernelsAvailable, chooseKernels } from '../model/kernels/choose-kernels.js';
import { checkEngineConfig, type EngineConfigInput, type ResolvedEngineConfig } from './engine-config.js';

/**
 * The one place an engine's configuration is resolved: defaults and checks (checkEngineConfig),
 * then the kernel backend for this machine (`auto` is chosen by the rule in choose-kernels.ts,
 * an explicit choice is checked to run here). Returns the config and why its backend was chosen.
 */
export async function resolveEngineConfig(input: EngineConfigInput = {}): Promise<{ config: ResolvedEngineConfig; reason: string }> {
  const checked = checkEngineConfig(input);
  if (checked.kernels === 'auto') {
    const choice = await chooseKernels(checked.modelConfig, checked.maxNumSeqs);
    return { config: { ...checked, kernels: choice.backend, gpujsMode: choice.gpujsMode }, reason: choice.reason };
  }
  await checkKernelsAvailable(checked.kernels, checked.gpujsMode);
  return { config: { ...checked, kernels: checked.kernels }, reason: 'chosen explicitly' };
}
