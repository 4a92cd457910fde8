/**
 * Incremental parser of a server-sent event stream: feed it text as it arrives, split anywhere
 * (mid-line, mid-CRLF, mid-event), and it returns the `data` of each complete event. Comments
 * (lines starting with ':') and fields other than `data` are skipped; an event's several `data`
 * lines are joined with newlines, as the EventSource specification says.
 */
export class SseParser {
  private buffer = '';
  private data: string[] = [];

  push(text: string): string[] {
    this.buffer += text;
    const events: string[] = [];
    let newline: number;
    while ((newline = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      // a lone \r at the very end may be the first half of \r\n: wait for the next chunk
      if (this.buffer[newline] === '\r' && newline === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + (this.buffer.startsWith('\r\n', newline) ? 2 : 1));
      this.line(line, events);
    }
    return events;
  }

  /** The stream ended: an event not yet closed by a blank line is dropped, as EventSource does. */
  end(): string[] {
    this.buffer = '';
    this.data = [];
    return [];
  }

  private line(line: string, events: string[]): void {
    if (line === '') {
      if (this.data.length > 0) events.push(this.data.join('\n'));
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    if (field !== 'data') return;
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    this.data.push(value);
  }
}
