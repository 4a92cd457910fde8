/*
 * The part of the WebAssembly JavaScript API this project uses. TypeScript ships these types only
 * in its DOM library, and @types/node 20 does not declare them; declaring them here keeps DOM
 * types (navigator, document) out of a Node.js program.
 */
declare namespace WebAssembly {
  interface MemoryDescriptor {
    initial: number;
    maximum?: number;
    shared?: boolean;
  }
  class Memory {
    constructor(descriptor: MemoryDescriptor);
    /** For a shared memory, a SharedArrayBuffer; a new object after every grow. */
    readonly buffer: ArrayBuffer;
    /** Grows by `delta` pages; returns the previous size in pages. */
    grow(delta: number): number;
  }
  interface ModuleImportDescriptor {
    module: string;
    name: string;
    kind: string;
  }
  class Module {
    constructor(bytes: ArrayBufferView | ArrayBuffer);
    static imports(module: Module): ModuleImportDescriptor[];
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  function validate(bytes: ArrayBufferView | ArrayBuffer): boolean;
}
