import type { ServerResponse } from 'node:http';

/**
 * The JSON text of `value`, in pieces: the items of its array `key` `itemsPerPiece` at a time (a
 * response's choices one by one, a list of token ids by thousands), the rest as they come, so
 * that a large body is never one string built at once. Joined, the pieces are exactly
 * JSON.stringify(value).
 */
export function* jsonPieces(value: Readonly<Record<string, unknown>>, key: string, itemsPerPiece = 1): Generator<string> {
  let first = true;
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined || typeof v === 'function') continue; // as JSON.stringify leaves them out
    const name = `${first ? '{' : ','}${JSON.stringify(k)}:`;
    first = false;
    if (k !== key || !Array.isArray(v)) {
      yield name + JSON.stringify(v);
      continue;
    }
    yield `${name}[`;
    for (let i = 0; i < v.length; i += itemsPerPiece) {
      let piece = '';
      for (let j = i; j < Math.min(v.length, i + itemsPerPiece); j++) piece += (j > 0 ? ',' : '') + (JSON.stringify(v[j]) ?? 'null');
      yield piece;
    }
    yield ']';
  }
  yield first ? '{}' : '}';
}

/** Bodies up to this size go out in one write with a Content-Length; longer ones are streamed. */
const ONE_WRITE_BYTES = 64 << 10;

/**
 * Writes a JSON body given in pieces: whole, with its length, when it is small; otherwise in
 * chunks that wait for the socket to drain, so that a large body costs the server no more than
 * the socket's buffer and one piece. Resolves once written, or once the client has gone.
 */
export async function writeJsonPieces(res: ServerResponse, status: number, headers: Record<string, string | number>, pieces: Iterable<string>): Promise<void> {
  const held: string[] = [];
  let bytes = 0;
  const iterator = pieces[Symbol.iterator]();
  for (let next = iterator.next(); !next.done; next = iterator.next()) {
    held.push(next.value);
    bytes += Buffer.byteLength(next.value);
    if (bytes <= ONE_WRITE_BYTES) continue;
    res.writeHead(status, headers); // no length: chunked
    const write = async (piece: string) => {
      if (!res.write(piece)) await drained(res);
    };
    for (const piece of held.splice(0)) await write(piece);
    for (let rest = iterator.next(); !rest.done && !res.destroyed; rest = iterator.next()) await write(rest.value);
    res.end();
    return;
  }
  const body = held.join('');
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}
