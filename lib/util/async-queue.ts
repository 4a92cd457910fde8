/**
 * A one-consumer async iterator fed by pushes: the producer pushes items and finally closes or
 * fails it; the consumer awaits them with `for await`. If the consumer stops early (break,
 * return, throw), `onCancel` runs once so the producer can stop producing.
 */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | null = null;
  private ended = false;
  private failure: { error: unknown } | null = null;

  constructor(private readonly onCancel: () => void = () => {}) {}

  get isEnded(): boolean {
    return this.ended;
  }

  push(item: T): void {
    if (this.ended) return;
    if (this.waiter) this.settle().resolve({ value: item, done: false });
    else this.items.push(item);
  }

  /** Ends the stream after the items already pushed. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.waiter && this.items.length === 0) this.settle().resolve({ value: undefined, done: true });
  }

  /** Ends the stream with an error, raised after the items already pushed. */
  fail(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = { error };
    if (this.waiter && this.items.length === 0) this.settle().reject(error);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) return Promise.resolve({ value: this.items.shift() as T, done: false });
    if (this.failure) {
      const { error } = this.failure;
      this.failure = null; // raise once; later calls just report the end
      return Promise.reject(error);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    if (!this.ended) {
      this.ended = true;
      this.items.length = 0;
      if (this.waiter) this.settle().resolve({ value: undefined, done: true });
      this.onCancel();
    }
    this.failure = null;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private settle() {
    const waiter = this.waiter as NonNullable<typeof this.waiter>;
    this.waiter = null;
    return waiter;
  }
}
