package io.github.smsgateway.client;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import com.google.rpc.QuotaFailure;
import com.google.rpc.RetryInfo;
import io.github.smsgateway.v1.ErrorReason;
import io.github.smsgateway.v1.SendFailure;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A failed gateway call with its {@code google.rpc} details decoded. Every method of
 * {@link SmsGatewayClient} throws it instead of a raw {@link StatusRuntimeException}.
 */
public final class GatewayException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The {@code ErrorInfo.domain} of the gateway's own errors. */
  public static final String DOMAIN = "smsgateway";

  /** One problem with one request field (a {@code google.rpc.BadRequest} entry). */
  public record FieldViolation(String field, String description) {}

  /** One exhausted quota (a {@code google.rpc.QuotaFailure} entry). */
  public record QuotaViolation(String subject, String description) {}

  private final Status.Code code;
  private final String statusMessage;
  private final String reason;
  private final String domain;
  private final Map<String, String> metadata;
  private final List<FieldViolation> violations;
  private final Duration retryDelay;
  private final List<QuotaViolation> quotaViolations;
  private final transient SendFailure sendFailure;
  private final String requestId;

  private GatewayException(
      Status.Code code,
      String statusMessage,
      String reason,
      String domain,
      Map<String, String> metadata,
      List<FieldViolation> violations,
      Duration retryDelay,
      List<QuotaViolation> quotaViolations,
      SendFailure sendFailure,
      String requestId,
      Throwable cause) {
    super(headline(code, statusMessage, reason, requestId), cause);
    this.code = code;
    this.statusMessage = statusMessage;
    this.reason = reason;
    this.domain = domain;
    this.metadata = Map.copyOf(metadata);
    this.violations = List.copyOf(violations);
    this.retryDelay = retryDelay;
    this.quotaViolations = List.copyOf(quotaViolations);
    this.sendFailure = sendFailure;
    this.requestId = requestId;
  }

  /** Decodes a failed call; {@code requestId} is the send's ("" for other calls). */
  public static GatewayException from(StatusRuntimeException error, String requestId) {
    Status status = error.getStatus();
    String reason = "";
    String domain = "";
    Map<String, String> metadata = new TreeMap<>();
    List<FieldViolation> violations = new ArrayList<>();
    List<QuotaViolation> quotas = new ArrayList<>();
    Duration retryDelay = null;
    SendFailure failure = null;
    com.google.rpc.Status rich = StatusProto.fromThrowable(error);
    // A rich status whose code differs was rewritten by a proxy: its details describe
    // some other failure.
    if (rich != null && rich.getCode() == status.getCode().value()) {
      for (Any detail : rich.getDetailsList()) {
        try {
          if (detail.is(BadRequest.class)) {
            for (BadRequest.FieldViolation v : detail.unpack(BadRequest.class).getFieldViolationsList()) {
              violations.add(new FieldViolation(v.getField(), v.getDescription()));
            }
          } else if (detail.is(ErrorInfo.class)) {
            ErrorInfo info = detail.unpack(ErrorInfo.class);
            reason = info.getReason();
            domain = info.getDomain();
            metadata.putAll(info.getMetadataMap());
          } else if (detail.is(RetryInfo.class)) {
            com.google.protobuf.Duration d = detail.unpack(RetryInfo.class).getRetryDelay();
            retryDelay = Duration.ofSeconds(d.getSeconds(), d.getNanos());
          } else if (detail.is(QuotaFailure.class)) {
            for (QuotaFailure.Violation v : detail.unpack(QuotaFailure.class).getViolationsList()) {
              quotas.add(new QuotaViolation(v.getSubject(), v.getDescription()));
            }
          } else if (detail.is(SendFailure.class)) {
            failure = detail.unpack(SendFailure.class);
          }
        } catch (InvalidProtocolBufferException e) {
          // A detail that does not parse is left out; the status itself still stands.
        }
      }
    }
    if (requestId == null || requestId.isEmpty()) {
      requestId = metadata.getOrDefault("request_id", "");
    }
    String message = status.getDescription() == null ? "" : status.getDescription();
    return new GatewayException(
        status.getCode(), message, reason, domain, metadata, violations, retryDelay, quotas, failure,
        requestId, error);
  }

  private static String headline(Status.Code code, String message, String reason, String requestId) {
    StringBuilder text = new StringBuilder(code.name()).append(": ").append(message);
    if (!reason.isEmpty() && !reason.equals(code.name())) {
      text.append(" [").append(reason).append(']');
    }
    if (requestId != null && !requestId.isEmpty()) {
      text.append(" (request_id ").append(requestId).append(')');
    }
    return text.toString();
  }

  /** The gRPC status code. */
  public Status.Code code() {
    return code;
  }

  /** The status message. */
  public String statusMessage() {
    return statusMessage;
  }

  /** {@code ErrorInfo.reason}: the name of an {@link ErrorReason} value; "" without one. */
  public String reason() {
    return reason;
  }

  /** True when {@code ErrorInfo.reason} is this value. */
  public boolean hasReason(ErrorReason value) {
    return reason.equals(value.name());
  }

  /** {@code ErrorInfo.domain}. */
  public String domain() {
    return domain;
  }

  /** {@code ErrorInfo.metadata}, e.g. {@code provider_code}, {@code oldest_cursor}. */
  public Map<String, String> metadata() {
    return metadata;
  }

  /** {@code BadRequest} field violations (INVALID_ARGUMENT). */
  public List<FieldViolation> violations() {
    return violations;
  }

  /** {@code RetryInfo.retry_delay}, when the server says waiting helps. */
  public Optional<Duration> retryDelay() {
    return Optional.ofNullable(retryDelay);
  }

  /** {@code QuotaFailure} violations (RESOURCE_EXHAUSTED). */
  public List<QuotaViolation> quotaViolations() {
    return quotaViolations;
  }

  /** For a send not accepted whole: counts and the first failed calls; getSend has all. */
  public Optional<SendFailure> sendFailure() {
    return Optional.ofNullable(sendFailure);
  }

  /**
   * The request_id of the send this error belongs to ("" for other calls), whatever the
   * code, DEADLINE_EXCEEDED included: retry with it, or ask {@code getSend}.
   */
  public String requestId() {
    return requestId;
  }

  /** True when the same call may succeed later (UNAVAILABLE). */
  public boolean retryable() {
    return code == Status.Code.UNAVAILABLE;
  }
}
