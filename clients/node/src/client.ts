/**
 * SmsGatewayClient: a promise-based client of smsgateway.v1.SmsGateway over the
 * generated ts-proto stubs and @grpc/grpc-js.
 *
 * - One channel configured from service_config.json: deadlines per method, retries of
 *   UNAVAILABLE for the methods that are safe to repeat, keepalive.
 * - Sends get their request_id before the first attempt, so gRPC's retries and yours
 *   with the same request are one send; every error carries it (GatewayError.requestId).
 * - Failures reject with GatewayError (google.rpc details decoded).
 * - Streams are async iterables that resume after the last cursor they yielded.
 * - An API key (authorization: Bearer) and TLS when asked for.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import {
  credentials as grpcCredentials,
  Metadata,
  status as Status,
  type CallOptions as GrpcCallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientReadableStream,
  type ServiceError,
} from "@grpc/grpc-js";

import { GatewayError } from "./errors";
import {
  EventStream,
  SmsGatewayClient as GeneratedClient,
  type DeliveryReport,
  type DeliveryReportFilter,
  type GetBalanceResponse,
  type GetSendResponse,
  type GetSendStatusResponse,
  type SendCallStatus,
  type SendSmsRequest,
  type SendSmsResponse,
  type SendTemplateSmsRequest,
  type SendTemplateSmsResponse,
  type StreamDeliveryReportsRequest,
  type StreamDeliveryReportsResponse,
  type StreamUplinksRequest,
  type StreamUplinksResponse,
  type Uplink,
} from "./gen/smsgateway/v1/smsgateway";

/** Where `make run` serves. */
export const DEFAULT_TARGET = "localhost:50051";

/**
 * The maxEventsPerResponse the stream helpers ask for when the request leaves it unset
 * or 0: several events per response, which the helpers yield one at a time.
 */
export const DEFAULT_EVENTS_PER_RESPONSE = 100;

/** A stream request of the helpers: the generated one, with maxEventsPerResponse optional. */
export type StreamRequest<R extends { maxEventsPerResponse: number }> = Omit<R, "maxEventsPerResponse"> & {
  maxEventsPerResponse?: number;
};

function withBatching<R extends { maxEventsPerResponse: number }>(request: StreamRequest<R>): R {
  return { ...request, maxEventsPerResponse: request.maxEventsPerResponse || DEFAULT_EVENTS_PER_RESPONSE } as R;
}

// A send answers with every recipient; 100,000 exceed gRPC's 4 MiB default.
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** How streams reconnect after UNAVAILABLE: equal-jitter exponential backoff. */
export interface ReconnectPolicy {
  /** Connections in a row that may fail before the stream gives up (1: never reconnect). */
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  multiplier: number;
}

/** Rides out a server restart of several seconds. */
export const DEFAULT_RECONNECT: ReconnectPolicy = {
  maxAttempts: 8,
  initialBackoffMs: 250,
  maxBackoffMs: 5000,
  multiplier: 2,
};

export interface ClientOptions {
  /** Sent as `authorization: Bearer <key>` with every call. */
  apiKey?: string;
  /** Connect with TLS (true: the system's root CAs). Default: plaintext, as in a cluster. */
  tls?: boolean;
  /** Connect with TLS, trusting the CA certificates in this PEM file. */
  caFile?: string;
  /** Stream reconnects. */
  reconnect?: ReconnectPolicy;
  /** More grpc-js channel options (they win over the service config's). */
  channelOptions?: ChannelOptions;
}

/** Per call: a timeout (default: the service config's per method) and an AbortSignal. */
export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The account balance, exact: `text` as the provider wrote it, and `units / 10^scale`. */
export interface Balance {
  text: string;
  units: bigint;
  scale: number;
  fetchTime: Date | undefined;
}

/** The whole stored result of one send: the header (totals, content) and every call. */
export interface SendResult {
  header: Omit<GetSendResponse, "calls" | "nextPageToken">;
  calls: SendCallStatus[];
}

type SendInput = Omit<SendSmsRequest, "requestId" | "kind"> & Partial<Pick<SendSmsRequest, "requestId" | "kind">>;
type TemplateInput = Omit<SendTemplateSmsRequest, "requestId" | "kind"> &
  Partial<Pick<SendTemplateSmsRequest, "requestId" | "kind">>;

interface ServiceConfigFile {
  serviceConfig: unknown;
  keepalive: { timeMs: number; timeoutMs: number; permitWithoutCalls: boolean };
}

function loadServiceConfig(): ServiceConfigFile {
  // service_config.json (a copy of clients/service_config.json) sits at the package root.
  return JSON.parse(readFileSync(join(__dirname, "..", "..", "service_config.json"), "utf8"));
}

/** A new UUID4: the request_id of one logical send. */
export function newRequestId(): string {
  return randomUUID();
}

/** Parse a decimal string exactly into units / 10^scale. */
export function parseDecimal(text: string): { units: bigint; scale: number } {
  const match = /^([+-]?)(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!match) throw new Error(`not a decimal: ${JSON.stringify(text)}`);
  const fraction = match[3] ?? "";
  const units = BigInt(match[2] + fraction) * (match[1] === "-" ? -1n : 1n);
  return { units, scale: fraction.length };
}

/** A client of one gateway; share one per process. Call close() when done. */
export class SmsGatewayClient {
  /** The generated grpc-js client on the same channel, for what this layer does not wrap. */
  readonly raw: InstanceType<typeof GeneratedClient>;
  private readonly metadata: Metadata;
  private readonly reconnect: ReconnectPolicy;

  constructor(target: string = DEFAULT_TARGET, options: ClientOptions = {}) {
    const config = loadServiceConfig();
    let creds: ChannelCredentials = grpcCredentials.createInsecure();
    if (options.caFile) creds = grpcCredentials.createSsl(readFileSync(options.caFile));
    else if (options.tls) creds = grpcCredentials.createSsl();
    const channelOptions: ChannelOptions = {
      "grpc.service_config": JSON.stringify(config.serviceConfig),
      "grpc.keepalive_time_ms": config.keepalive.timeMs,
      "grpc.keepalive_timeout_ms": config.keepalive.timeoutMs,
      "grpc.keepalive_permit_without_calls": config.keepalive.permitWithoutCalls ? 1 : 0,
      "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
      "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
      ...options.channelOptions,
    };
    this.raw = new GeneratedClient(target, creds, channelOptions);
    this.metadata = new Metadata();
    if (options.apiKey) this.metadata.set("authorization", `Bearer ${options.apiKey}`);
    this.reconnect = options.reconnect ?? DEFAULT_RECONNECT;
  }

  /** Close the channel; open streams end. */
  close(): void {
    this.raw.close();
  }

  /**
   * Send one plain SMS. Without a requestId the request gets a new UUID4 first, reused by
   * every retry; the answer and every error (GatewayError.requestId) carry it.
   */
  sendSms(request: SendInput, options: CallOptions = {}): Promise<SendSmsResponse> {
    const full: SendSmsRequest = { kind: 0, ...request, requestId: request.requestId || newRequestId() };
    return this.unary((cb) => this.raw.sendSms(full, this.metadata, this.callOptions(options), cb), options, full.requestId);
  }

  /** Send an SMS from an approved template; as sendSms. */
  sendTemplateSms(request: TemplateInput, options: CallOptions = {}): Promise<SendTemplateSmsResponse> {
    const full: SendTemplateSmsRequest = { kind: 0, ...request, requestId: request.requestId || newRequestId() };
    return this.unary(
      (cb) => this.raw.sendTemplateSms(full, this.metadata, this.callOptions(options), cb),
      options,
      full.requestId,
    );
  }

  /** The whole stored result of one send, every page read (pageSize: calls per page). */
  async getSend(requestId: string, pageSize = 0, options: CallOptions = {}): Promise<SendResult> {
    const calls: SendCallStatus[] = [];
    let header: SendResult["header"] | undefined;
    let pageToken = "";
    for (;;) {
      const page = await this.unary<GetSendResponse>(
        (cb) => this.raw.getSend({ requestId, pageSize, pageToken }, this.metadata, this.callOptions(options), cb),
        options,
        requestId,
      );
      calls.push(...page.calls);
      if (!header) {
        const { calls: _calls, nextPageToken: _token, ...rest } = page;
        header = rest;
      }
      pageToken = page.nextPageToken;
      if (!pageToken) return { header, calls };
    }
  }

  /** The delivery status of every recipient of one provider call. */
  getSendStatus(bizId: string, options: CallOptions = {}): Promise<GetSendStatusResponse> {
    return this.unary((cb) => this.raw.getSendStatus({ bizId }, this.metadata, this.callOptions(options), cb), options);
  }

  /** The account balance, exact (never through a binary float). */
  async getBalance(options: CallOptions = {}): Promise<Balance> {
    const response = await this.unary<GetBalanceResponse>(
      (cb) => this.raw.getBalance({}, this.metadata, this.callOptions(options), cb),
      options,
    );
    return { text: response.balance, ...parseDecimal(response.balance), fetchTime: response.fetchTime };
  }

  /** Acknowledge events of a consumer group; resolves to how many were pending. */
  async acknowledge(stream: EventStream, consumerGroup: string, cursors: bigint[], options: CallOptions = {}): Promise<number> {
    let acknowledged = 0;
    for (let i = 0; i < cursors.length; i += 10_000) {
      const batch = cursors.slice(i, i + 10_000);
      const response = await this.unary<{ acknowledgedCount: number }>(
        (cb) =>
          this.raw.acknowledgeEvents({ stream, consumerGroup, cursors: batch }, this.metadata, this.callOptions(options), cb),
        options,
      );
      acknowledged += response.acknowledgedCount;
    }
    return acknowledged;
  }

  /** Delete a consumer group; false when there was none. */
  async deleteConsumerGroup(stream: EventStream, consumerGroup: string, options: CallOptions = {}): Promise<boolean> {
    const response = await this.unary<{ deleted: boolean }>(
      (cb) => this.raw.deleteConsumerGroup({ stream, consumerGroup }, this.metadata, this.callOptions(options), cb),
      options,
    );
    return response.deleted;
  }

  /** Every stored delivery report matching the filter, oldest first, page after page. */
  async *listDeliveryReports(filter: Partial<DeliveryReportFilter> = {}, options: CallOptions = {}): AsyncGenerator<DeliveryReport> {
    const full: DeliveryReportFilter = { bizIds: [], phoneNumbers: [], sign: "", statuses: [], ...filter };
    let pageToken = "";
    for (;;) {
      const page = await this.unary<{ reports: DeliveryReport[]; nextPageToken: string }>(
        (cb) =>
          this.raw.listDeliveryReports({ filter: full, pageSize: 1000, pageToken }, this.metadata, this.callOptions(options), cb),
        options,
      );
      yield* page.reports;
      pageToken = page.nextPageToken;
      if (!pageToken) return;
    }
  }

  /**
   * Stream delivery reports, one at a time; resumes right after the last report yielded
   * when the connection drops (in a consumer group: from the group's position, so
   * unacknowledged reports come again). Leave the loop (break) or pass an AbortSignal to
   * end it. Asks for DEFAULT_EVENTS_PER_RESPONSE reports per response unless
   * `maxEventsPerResponse` says otherwise (1: one per response).
   */
  streamDeliveryReports(
    request: StreamRequest<StreamDeliveryReportsRequest>,
    signal?: AbortSignal,
  ): AsyncGenerator<DeliveryReport> {
    return this.resume(
      withBatching(request),
      (r) => this.raw.streamDeliveryReports(r, this.metadata),
      (response: StreamDeliveryReportsResponse) =>
        response.reports.length > 0 ? response.reports : response.report ? [response.report] : [],
      signal,
    );
  }

  /** Stream uplinks; as streamDeliveryReports. */
  streamUplinks(request: StreamRequest<StreamUplinksRequest>, signal?: AbortSignal): AsyncGenerator<Uplink> {
    return this.resume(
      withBatching(request),
      (r) => this.raw.streamUplinks(r, this.metadata),
      (response: StreamUplinksResponse) =>
        response.uplinks.length > 0 ? response.uplinks : response.uplink ? [response.uplink] : [],
      signal,
    );
  }

  private async *resume<R extends StreamDeliveryReportsRequest | StreamUplinksRequest, M, E extends { cursor: bigint }>(
    request: R,
    open: (request: R) => ClientReadableStream<M>,
    unwrap: (message: M) => E[],
    signal?: AbortSignal,
  ): AsyncGenerator<E> {
    const grouped = request.consumerGroup !== undefined;
    let current = request;
    let failures = 0;
    for (;;) {
      const call = open(current);
      const abort = () => call.cancel();
      signal?.addEventListener("abort", abort);
      try {
        for await (const message of call) {
          failures = 0;
          for (const event of unwrap(message as M)) {
            // Per event: a drop (or a caller that stops) mid-response resumes right
            // after the last event yielded.
            if (!grouped) current = { ...request, start: { afterCursor: event.cursor } };
            yield event;
          }
        }
        return;
      } catch (error) {
        const failure = GatewayError.from(error);
        failures += 1;
        if (signal?.aborted || failure.code !== Status.UNAVAILABLE || failures >= this.reconnect.maxAttempts) {
          throw failure;
        }
        const p = this.reconnect;
        const ceiling = Math.min(p.maxBackoffMs, p.initialBackoffMs * p.multiplier ** (failures - 1));
        const delay = Math.max(ceiling / 2 + Math.random() * (ceiling / 2), failure.retryDelayMs ?? 0);
        await new Promise((resolve) => setTimeout(resolve, delay));
      } finally {
        signal?.removeEventListener("abort", abort);
        call.cancel();
      }
    }
  }

  private callOptions(options: CallOptions): Partial<GrpcCallOptions> {
    return options.timeoutMs === undefined ? {} : { deadline: new Date(Date.now() + options.timeoutMs) };
  }

  private unary<T>(
    start: (callback: (error: ServiceError | null, response: T) => void) => { cancel(): void },
    options: CallOptions,
    requestId = "",
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const call = start((error, response) => {
        options.signal?.removeEventListener("abort", abort);
        if (error) reject(GatewayError.from(error, requestId));
        else resolve(response);
      });
      const abort = () => call.cancel();
      options.signal?.addEventListener("abort", abort, { once: true });
    });
  }
}
