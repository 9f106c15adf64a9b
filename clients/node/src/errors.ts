/**
 * GatewayError: a failed gateway call with its google.rpc details decoded.
 *
 * The gateway answers every failure with a rich status (grpc-status-details-bin):
 * BadRequest violations for bad input, ErrorInfo (domain "smsgateway", a reason that is
 * an ErrorReason name, metadata), RetryInfo when waiting helps, QuotaFailure when a quota
 * is spent, and for a send not accepted whole a SendFailure (counts, first failures).
 */
import { Metadata, status as Status, type ServiceError } from "@grpc/grpc-js";

import { BadRequest, ErrorInfo, QuotaFailure, RetryInfo } from "./gen/google/rpc/error_details";
import { Status as RpcStatus } from "./gen/google/rpc/status";
import { ErrorReason } from "./gen/smsgateway/v1/error_reason";
import { SendFailure } from "./gen/smsgateway/v1/smsgateway";

/** The ErrorInfo domain of the gateway's own errors. */
export const DOMAIN = "smsgateway";

/** One problem with one request field. */
export interface FieldViolation {
  /** The field path, e.g. `phone_numbers[3]`. */
  field: string;
  /** Why the value was refused. */
  description: string;
}

/** One exhausted quota. */
export interface QuotaViolation {
  subject: string;
  description: string;
}

const TYPE_PREFIX = "type.googleapis.com/";

/** A failed call. Every method of SmsGatewayClient rejects with one. */
export class GatewayError extends Error {
  /** The gRPC status code (a value of grpc-js `status`). */
  readonly code: Status;
  /** The status message. */
  readonly details: string;
  /** ErrorInfo.reason: the name of an ErrorReason value, "" without one. */
  readonly reason: string;
  /** ErrorInfo.domain. */
  readonly domain: string;
  /** ErrorInfo.metadata, e.g. provider_code, oldest_cursor, request_id. */
  readonly metadata: Readonly<Record<string, string>>;
  /** BadRequest field violations (INVALID_ARGUMENT). */
  readonly violations: readonly FieldViolation[];
  /** RetryInfo.retry_delay in milliseconds, undefined without one. */
  readonly retryDelayMs: number | undefined;
  /** QuotaFailure violations (RESOURCE_EXHAUSTED). */
  readonly quotaViolations: readonly QuotaViolation[];
  /** For a send not accepted whole: counts and the first failed calls; getSend has all. */
  readonly sendFailure: SendFailure | undefined;
  /**
   * The request_id of the send this error belongs to ("" for other calls), whatever
   * the code, DEADLINE_EXCEEDED included: retry with it, or ask getSend.
   */
  readonly requestId: string;
  /** The grpc-js error, for what is not decoded here. */
  override readonly cause: ServiceError | Error;

  constructor(fields: {
    code: Status;
    details: string;
    reason?: string;
    domain?: string;
    metadata?: Record<string, string>;
    violations?: FieldViolation[];
    retryDelayMs?: number;
    quotaViolations?: QuotaViolation[];
    sendFailure?: SendFailure;
    requestId?: string;
    cause: ServiceError | Error;
  }) {
    const requestId = fields.requestId || fields.metadata?.request_id || "";
    super(headline(fields.code, fields.details, fields.reason ?? "", requestId));
    this.name = "GatewayError";
    this.code = fields.code;
    this.details = fields.details;
    this.reason = fields.reason ?? "";
    this.domain = fields.domain ?? "";
    this.metadata = Object.freeze({ ...fields.metadata });
    this.violations = Object.freeze([...(fields.violations ?? [])]);
    this.retryDelayMs = fields.retryDelayMs;
    this.quotaViolations = Object.freeze([...(fields.quotaViolations ?? [])]);
    this.sendFailure = fields.sendFailure;
    this.requestId = requestId;
    this.cause = fields.cause;
  }

  /** The status code's name, e.g. `INVALID_ARGUMENT`. */
  get codeName(): string {
    return Status[this.code] ?? String(this.code);
  }

  /** True when ErrorInfo.reason is this ErrorReason. */
  hasReason(reason: ErrorReason): boolean {
    return this.reason === ErrorReason[reason];
  }

  /** True when the same call may succeed later (UNAVAILABLE). */
  get retryable(): boolean {
    return this.code === Status.UNAVAILABLE;
  }

  /** A multi-line text for people: the status, then one line per violation and detail. */
  render(): string {
    const lines = [`error: ${this.message}`];
    for (const v of this.violations) lines.push(`  - ${v.field}: ${v.description}`);
    for (const key of Object.keys(this.metadata).sort()) lines.push(`  ${key}: ${this.metadata[key]}`);
    if (this.retryDelayMs !== undefined) lines.push(`  retry after ${this.retryDelayMs / 1000}s`);
    const f = this.sendFailure;
    if (f) {
      lines.push(
        `  partial send ${f.requestId}: ${f.acceptedCount} accepted, ${f.failedCount} failed, ` +
          `${f.unknownCount} unknown of ${f.recipientCount} (getSend has every call)`,
      );
    }
    return lines.join("\n");
  }

  /** Decode a grpc-js error (anything else becomes an UNKNOWN GatewayError). */
  static from(error: unknown, requestId = ""): GatewayError {
    if (error instanceof GatewayError) return error;
    const service = error as Partial<ServiceError>;
    if (typeof service?.code !== "number") {
      const cause = error instanceof Error ? error : new Error(String(error));
      return new GatewayError({ code: Status.UNKNOWN, details: cause.message, requestId, cause });
    }
    const fields: ConstructorParameters<typeof GatewayError>[0] = {
      code: service.code,
      details: service.details ?? "",
      requestId,
      cause: service as ServiceError,
    };
    const raw = service.metadata instanceof Metadata ? service.metadata.get("grpc-status-details-bin") : [];
    if (raw.length > 0 && Buffer.isBuffer(raw[0])) {
      const rich = RpcStatus.decode(raw[0]);
      if (rich.code === service.code) {
        // Else a proxy rewrote the status: its details describe some other failure.
        decodeDetails(rich, fields);
      }
    }
    return new GatewayError(fields);
  }
}

function decodeDetails(rich: RpcStatus, fields: ConstructorParameters<typeof GatewayError>[0]): void {
  for (const any of rich.details) {
    const type = any.typeUrl.startsWith(TYPE_PREFIX) ? any.typeUrl.slice(TYPE_PREFIX.length) : any.typeUrl;
    switch (type) {
      case "google.rpc.BadRequest":
        fields.violations = BadRequest.decode(any.value).fieldViolations.map((v) => ({
          field: v.field,
          description: v.description,
        }));
        break;
      case "google.rpc.ErrorInfo": {
        const info = ErrorInfo.decode(any.value);
        fields.reason = info.reason;
        fields.domain = info.domain;
        fields.metadata = { ...info.metadata };
        break;
      }
      case "google.rpc.RetryInfo": {
        const delay = RetryInfo.decode(any.value).retryDelay;
        if (delay) fields.retryDelayMs = Number(delay.seconds) * 1000 + delay.nanos / 1e6;
        break;
      }
      case "google.rpc.QuotaFailure":
        fields.quotaViolations = QuotaFailure.decode(any.value).violations.map((v) => ({
          subject: v.subject,
          description: v.description,
        }));
        break;
      case "smsgateway.v1.SendFailure":
        fields.sendFailure = SendFailure.decode(any.value);
        break;
    }
  }
}

function headline(code: Status, details: string, reason: string, requestId: string): string {
  const name = Status[code] ?? String(code);
  let text = `${name}: ${details}`;
  if (reason && reason !== name) text += ` [${reason}]`;
  if (requestId) text += ` (request_id ${requestId})`;
  return text;
}
