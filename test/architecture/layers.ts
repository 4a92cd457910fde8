import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The layering of lib/, lowest first (docs/architecture.md draws it). A file may import files
 * of its own folder and of any lower layer, never a higher one or another folder of its own
 * layer. Files at lib/'s root are named by file.
 */
export const LAYERS: readonly (readonly string[])[] = [
  ['errors.ts', 'util'],
  ['tensors'],
  ['tokenizer'],
  ['formats'],
  ['backends'],
  ['decode'],
  ['models'],
  ['engine'],
  ['transport'],
  ['observe'],
  ['pool'],
  ['api'],
  ['config.ts'],
  ['index.ts', 'server.ts'],
];

export interface ImportEdge {
  readonly from: string; // path relative to lib/
  readonly to: string;
}

/** The unit of layering a lib-relative path belongs to: its top folder, or the file itself at the root. */
export function unitOf(libPath: string): string {
  return libPath.split('/')[0];
}

export function rankOf(unit: string): number {
  const rank = LAYERS.findIndex((layer) => layer.includes(unit));
  if (rank < 0) throw new Error(`${unit} is in no layer: add it to LAYERS and to docs/architecture.md`);
  return rank;
}

/** Relative import specifiers of a TypeScript source: static, type-only, re-exports and dynamic import(). */
export function importSpecifiers(source: string): string[] {
  return [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']+)'/gm)].map((m) => m[1]);
}

/** Every import edge between files of lib/, from sources given as { lib-relative path: text }. */
export function importEdges(sources: ReadonlyMap<string, string>): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const [from, text] of sources) {
    for (const spec of importSpecifiers(text)) {
      const to = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec)).replace(/\.js$/, '.ts');
      if (!to.startsWith('..')) edges.push({ from, to });
    }
  }
  return edges;
}

/** The edges that break the layering, each with why. */
export function layeringViolations(edges: readonly ImportEdge[]): string[] {
  const out: string[] = [];
  for (const { from, to } of edges) {
    const a = unitOf(from);
    const b = unitOf(to);
    if (a === b) continue;
    const ra = rankOf(a);
    const rb = rankOf(b);
    if (rb > ra) out.push(`${from} imports ${to}: ${a} (layer ${ra}) may not import ${b} (layer ${rb}, above it)`);
    else if (rb === ra) out.push(`${from} imports ${to}: ${a} and ${b} share layer ${ra} and may not import each other`);
  }
  return out;
}

/** Folder-level cycles, as "a → b → a" strings. */
export function folderCycles(edges: readonly ImportEdge[]): string[] {
  const graph = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    const a = unitOf(from);
    const b = unitOf(to);
    if (a !== b) graph.set(a, (graph.get(a) ?? new Set()).add(b));
  }
  const cycles: string[] = [];
  const visit = (node: string, trail: string[]) => {
    for (const next of graph.get(node) ?? []) {
      const at = trail.indexOf(next);
      if (at >= 0) cycles.push([...trail.slice(at), next].join(' → '));
      else visit(next, [...trail, next]);
    }
  };
  for (const node of graph.keys()) visit(node, [node]);
  return cycles;
}

/**
 * File-level cycles (type-only imports count: a cycle of types is still two files that cannot be
 * read one without the other), one per strongly connected group, as "a → b → a".
 */
export function fileCycles(edges: readonly ImportEdge[]): string[] {
  const graph = new Map<string, string[]>();
  for (const { from, to } of edges) graph.set(from, [...(graph.get(from) ?? []), to]);
  // Tarjan's strongly connected components
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const connect = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node) as number);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        connect(next);
        low.set(node, Math.min(low.get(node) as number, low.get(next) as number));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) as number, index.get(next) as number));
      }
    }
    if (low.get(node) === index.get(node)) {
      const group: string[] = [];
      let member: string;
      do {
        member = stack.pop() as string;
        onStack.delete(member);
        group.push(member);
      } while (member !== node);
      if (group.length > 1 || (graph.get(node) ?? []).includes(node)) groups.push(group);
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) connect(node);
  return groups.map((group) => cycleThrough(group, graph));
}

/** One cycle through every file of a strongly connected `group`, starting at its first file by name. */
function cycleThrough(group: readonly string[], graph: ReadonlyMap<string, readonly string[]>): string {
  const members = new Set(group);
  const start = [...group].sort()[0];
  // breadth-first back to the start within the group: the shortest cycle through it
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift() as string;
    for (const next of graph.get(node) ?? []) {
      if (!members.has(next)) continue;
      if (next === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(cameFrom.get(path[0]) as string);
        return [...path, start].join(' → ');
      }
      if (!cameFrom.has(next)) {
        cameFrom.set(next, node);
        queue.push(next);
      }
    }
  }
  return [...group].sort().join(' ↔ ');
}

/** Backend folders under backends/: each an implementation that only the registry may import. */
const BACKEND_IMPLEMENTATION = /^backends\/([^/]+)\//;
/** What models/ may import of backends/: the kernel contract and the backend descriptor, never a backend. */
const BACKEND_CONTRACT = new Set(['backends/kernels.ts', 'backends/backend.ts']);

/**
 * The two rules beside the layer order: models/ sees only the backend contract, so an
 * architecture runs on every backend that has its ops; and only backends/registry.ts imports a
 * backend implementation, so a backend is added by a folder and a line in the registry.
 */
export function backendRuleViolations(edges: readonly ImportEdge[]): string[] {
  const out: string[] = [];
  for (const { from, to } of edges) {
    if (from.startsWith('models/') && to.startsWith('backends/') && !BACKEND_CONTRACT.has(to)) {
      out.push(`${from} imports ${to}: models/ may import only ${[...BACKEND_CONTRACT].join(' and ')} of backends/`);
    }
    const implementation = BACKEND_IMPLEMENTATION.exec(to)?.[1];
    if (implementation !== undefined && from !== 'backends/registry.ts' && BACKEND_IMPLEMENTATION.exec(from)?.[1] !== implementation) {
      out.push(`${from} imports ${to}: only backends/registry.ts imports a backend implementation (backends/${implementation}/)`);
    }
  }
  return out;
}

/** The TypeScript sources under `root`, keyed by path relative to it. */
export function readSources(root: string): Map<string, string> {
  const sources = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) sources.set(path.relative(root, full).split(path.sep).join('/'), readFileSync(full, 'utf8'));
    }
  };
  walk(root);
  return sources;
}
