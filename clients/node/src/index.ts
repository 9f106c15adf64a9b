/** The TypeScript/Node client of the smsgateway gRPC API. See README.md. */
export {
  DEFAULT_EVENTS_PER_RESPONSE,
  DEFAULT_RECONNECT,
  DEFAULT_TARGET,
  SmsGatewayClient,
  newRequestId,
  parseDecimal,
  type Balance,
  type CallOptions,
  type ClientOptions,
  type ReconnectPolicy,
  type SendResult,
  type StreamRequest,
} from "./client";
export { DOMAIN, GatewayError, type FieldViolation, type QuotaViolation } from "./errors";
export * from "./gen/smsgateway/v1/smsgateway";
export { ErrorReason } from "./gen/smsgateway/v1/error_reason";
