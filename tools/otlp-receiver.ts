/**
 * A real OTLP/gRPC trace receiver on 127.0.0.1: it serves the collector's TraceService and decodes
 * every ExportTraceServiceRequest with the protocol's own schema, as a collector does. It can also
 * refuse every export, or accept the connection and never answer (a black hole).
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export interface ReceivedEvent {
  readonly name: string;
  readonly timeUnixNano: bigint;
  readonly attributes: Record<string, unknown>;
}

export interface ReceivedSpan {
  readonly name: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly kind: string;
  readonly scope: string;
  readonly resource: Record<string, unknown>;
  readonly attributes: Record<string, unknown>;
  readonly events: readonly ReceivedEvent[];
  readonly status: { readonly code: string; readonly message: string };
  readonly links: readonly { readonly traceId: string; readonly spanId: string; readonly attributes: Record<string, unknown> }[];
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
}

export type ReceiverMode = 'accept' | 'refuse' | 'black-hole';

const PROTO_ROOT = new URL('./otlp', import.meta.url).pathname;

type Any = { stringValue?: string; boolValue?: boolean; intValue?: string; doubleValue?: number; arrayValue?: { values: Any[] }; value?: string };
type KeyValue = { key: string; value: Any };

function valueOf(v: Any | undefined): unknown {
  if (!v) return undefined;
  switch (v.value) {
    case 'stringValue':
      return v.stringValue;
    case 'boolValue':
      return v.boolValue;
    case 'intValue':
      return Number(v.intValue);
    case 'doubleValue':
      return v.doubleValue;
    case 'arrayValue':
      return (v.arrayValue?.values ?? []).map(valueOf);
    default:
      return undefined;
  }
}

const attributesOf = (kvs: KeyValue[] = []) => Object.fromEntries(kvs.map((kv) => [kv.key, valueOf(kv.value)]));
const hex = (b: Buffer | undefined) => (b ? Buffer.from(b).toString('hex') : '');

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  exportCalls = 0;
  private waiters: (() => void)[] = [];
  private readonly hanging: (() => void)[] = [];

  private constructor(
    private readonly server: grpc.Server,
    readonly port: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listens on `port` (0: a free one), e.g. the port of a receiver that was closed, as a restart. */
  static async start(mode: ReceiverMode = 'accept', port = 0): Promise<OtlpReceiver> {
    const definition = protoLoader.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto', {
      includeDirs: [PROTO_ROOT],
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    const proto = grpc.loadPackageDefinition(definition) as unknown as {
      opentelemetry: { proto: { collector: { trace: { v1: { TraceService: { service: grpc.ServiceDefinition } } } } } };
    };
    const server = new grpc.Server();
    let receiver: OtlpReceiver | null = null;
    server.addService(proto.opentelemetry.proto.collector.trace.v1.TraceService.service, {
      Export: (call: grpc.ServerUnaryCall<{ resourceSpans: unknown[] }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const r = receiver as OtlpReceiver;
        r.exportCalls++;
        if (mode === 'refuse') return callback({ code: grpc.status.UNAVAILABLE, details: 'refusing for the test' });
        if (mode === 'black-hole') {
          r.hanging.push(() => callback({ code: grpc.status.CANCELLED, details: 'closing' }));
          return; // never answers
        }
        r.receive(call.request.resourceSpans as never);
        callback(null, {});
      },
    });
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    receiver = new OtlpReceiver(server, bound);
    return receiver;
  }

  /** Resolves with the spans once `done(spans)` holds; re-checked after every export. */
  async waitFor(done: (spans: readonly ReceivedSpan[]) => boolean): Promise<readonly ReceivedSpan[]> {
    while (!done(this.spans)) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.spans;
  }

  async close(): Promise<void> {
    for (const answer of this.hanging.splice(0)) answer();
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    this.server.forceShutdown();
  }

  private receive(resourceSpans: { resource: { attributes: KeyValue[] }; scopeSpans: { scope: { name: string }; spans: any[] }[] }[]): void {
    for (const rs of resourceSpans) {
      const resource = attributesOf(rs.resource?.attributes);
      for (const ss of rs.scopeSpans) {
        for (const s of ss.spans) {
          this.spans.push({
            name: s.name,
            traceId: hex(s.traceId),
            spanId: hex(s.spanId),
            parentSpanId: hex(s.parentSpanId),
            kind: s.kind,
            scope: ss.scope?.name ?? '',
            resource,
            attributes: attributesOf(s.attributes),
            events: (s.events ?? []).map((e: { name: string; timeUnixNano: string; attributes: KeyValue[] }) => ({
              name: e.name,
              timeUnixNano: BigInt(e.timeUnixNano),
              attributes: attributesOf(e.attributes),
            })),
            status: { code: s.status?.code ?? 'STATUS_CODE_UNSET', message: s.status?.message ?? '' },
            links: (s.links ?? []).map((l: { traceId: Buffer; spanId: Buffer; attributes: KeyValue[] }) => ({ traceId: hex(l.traceId), spanId: hex(l.spanId), attributes: attributesOf(l.attributes) })),
            startTimeUnixNano: BigInt(s.startTimeUnixNano ?? 0),
            endTimeUnixNano: BigInt(s.endTimeUnixNano ?? 0),
          });
        }
      }
    }
    for (const wake of this.waiters.splice(0)) wake();
  }
}
