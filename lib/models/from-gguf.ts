import { ModelLoadError } from '../formats/model-load-error.js';
import type { GgufFile } from '../formats/gguf.js';
import { COMPUTED_TYPES, GGML_TYPE, ggmlTypeName } from '../tensors/tensor-types.js';
import type { TensorLayout } from '../tensors/weights.js';
import type { Architecture } from './architecture.js';
import type { ModelConfig } from './model.js';
import { architectureNamed, supportedArchitectures } from './registry.js';

/**
 * The model a GGUF file holds, checked against what this server can run: a supported
 * architecture, hyperparameters it computes (its readConfig), and every tensor it reads present,
 * of a type this project computes with and of the shape the hyperparameters imply, and no other.
 * Anything else is refused with a message naming it, before a byte of weights is read.
 */
export function modelFromGguf(file: GgufFile): { architecture: Architecture; config: ModelConfig; tensors: TensorLayout[] } {
  const fail = (problem: string) => new ModelLoadError(`${file.path}: ${problem}`);
  const name = file.metadata.get('general.architecture');
  if (typeof name !== 'string') throw fail('has no general.architecture');
  const architecture = architectureNamed(name);
  if (!architecture) throw fail(`architecture "${name}" is not supported; supported: ${supportedArchitectures().join(', ')}`);
  const config = architecture.readConfig(file);

  // an unknown tensor would be ignored (and the model compute something else), a misshapen one misread
  const present = new Set(file.tensors.map((t) => t.name));
  const specs = new Map(architecture.tensorSpecs(config, present).map((s) => [s.name, s]));
  for (const t of file.tensors) {
    const spec = specs.get(t.name);
    if (!spec) throw fail(`has a tensor this server does not use, ${t.name}: its ${name} implementation would ignore it and compute something else`);
    const isVector = spec.dims.length === 1;
    if (isVector ? t.type !== GGML_TYPE.F32 : !COMPUTED_TYPES.includes(t.type)) {
      const supported = isVector ? 'F32' : COMPUTED_TYPES.map(ggmlTypeName).join(', ');
      throw fail(`tensor ${t.name} is ${ggmlTypeName(t.type)}; supported for ${isVector ? 'norms and biases' : 'matrices'}: ${supported}`);
    }
    if (t.dims.length !== spec.dims.length || t.dims.some((d, i) => d !== spec.dims[i])) throw fail(`tensor ${t.name} is [${t.dims.join(', ')}], expected [${spec.dims.join(', ')}] for this model's hyperparameters`);
  }
  for (const spec of specs.values()) if (!spec.optional && !present.has(spec.name)) throw fail(`lacks tensor ${spec.name}`);
  return { architecture, config, tensors: file.tensors.map((t) => ({ name: t.name, type: t.type, dims: t.dims, offset: t.offset })) };
}
