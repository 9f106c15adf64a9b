package io.github.smsgateway.client;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import io.github.smsgateway.v1.AcknowledgeEventsRequest;
import io.github.smsgateway.v1.DeleteConsumerGroupRequest;
import io.github.smsgateway.v1.DeliveryReport;
import io.github.smsgateway.v1.DeliveryReportFilter;
import io.github.smsgateway.v1.EventStream;
import io.github.smsgateway.v1.GetBalanceRequest;
import io.github.smsgateway.v1.GetBalanceResponse;
import io.github.smsgateway.v1.GetSendRequest;
import io.github.smsgateway.v1.GetSendResponse;
import io.github.smsgateway.v1.GetSendStatusRequest;
import io.github.smsgateway.v1.GetSendStatusResponse;
import io.github.smsgateway.v1.ListDeliveryReportsRequest;
import io.github.smsgateway.v1.ListDeliveryReportsResponse;
import io.github.smsgateway.v1.SendCallStatus;
import io.github.smsgateway.v1.SendSmsRequest;
import io.github.smsgateway.v1.SendSmsResponse;
import io.github.smsgateway.v1.SendTemplateSmsRequest;
import io.github.smsgateway.v1.SendTemplateSmsResponse;
import io.github.smsgateway.v1.SmsGatewayGrpc;
import io.github.smsgateway.v1.StreamDeliveryReportsRequest;
import io.github.smsgateway.v1.StreamDeliveryReportsResponse;
import io.github.smsgateway.v1.StreamStart;
import io.github.smsgateway.v1.StreamUplinksRequest;
import io.github.smsgateway.v1.StreamUplinksResponse;
import io.github.smsgateway.v1.Uplink;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ChannelCredentials;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A client of the smsgateway.v1.SmsGateway API: a small layer over the stubs generated from
 * proto/ at build time.
 *
 * <ul>
 *   <li>One channel configured from service_config.json: deadlines per method, retries of
 *       UNAVAILABLE for the methods that are safe to repeat, keepalive.
 *   <li>Sends get their request_id before the first attempt, so gRPC's retries and yours with
 *       the same request are one send; every {@link GatewayException} names it.
 *   <li>Failures throw {@link GatewayException} with the google.rpc details decoded.
 *   <li>Streams resume after the last cursor they returned when the connection drops.
 *   <li>An API key ({@code authorization: Bearer}) and TLS when asked for.
 * </ul>
 *
 * <p>Thread-safe; share one per process and close it when done.
 */
public final class SmsGatewayClient implements AutoCloseable {
  /** Where {@code make run} serves. */
  public static final String DEFAULT_TARGET = "localhost:50051";

  // A send answers with every recipient; 100,000 exceed gRPC's 4 MiB default.
  private static final int MAX_MESSAGE_BYTES = 64 << 20;
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final ManagedChannel channel;
  private final SmsGatewayGrpc.SmsGatewayBlockingStub stub;
  private final ReconnectPolicy reconnect;

  private SmsGatewayClient(Builder builder) {
    ChannelCredentials credentials = InsecureChannelCredentials.create();
    try {
      if (builder.caFile != null) {
        credentials = TlsChannelCredentials.newBuilder().trustManager(builder.caFile.toFile()).build();
      } else if (builder.tls) {
        credentials = TlsChannelCredentials.create();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("CA file " + builder.caFile, e);
    }
    Map<String, Object> config = serviceConfigFile();
    @SuppressWarnings("unchecked")
    Map<String, Object> keepalive = (Map<String, Object>) config.get("keepalive");
    @SuppressWarnings("unchecked")
    Map<String, ?> serviceConfig = (Map<String, ?>) config.get("serviceConfig");
    var channelBuilder =
        Grpc.newChannelBuilder(builder.target, credentials)
            .defaultServiceConfig(serviceConfig)
            .enableRetry()
            .keepAliveTime(((Number) keepalive.get("timeMs")).longValue(), TimeUnit.MILLISECONDS)
            .keepAliveTimeout(((Number) keepalive.get("timeoutMs")).longValue(), TimeUnit.MILLISECONDS)
            .keepAliveWithoutCalls((Boolean) keepalive.get("permitWithoutCalls"))
            .maxInboundMessageSize(MAX_MESSAGE_BYTES);
    if (builder.apiKey != null) {
      channelBuilder.intercept(new ApiKeyInterceptor(builder.apiKey));
    }
    this.channel = channelBuilder.build();
    this.stub = SmsGatewayGrpc.newBlockingStub(channel);
    this.reconnect = builder.reconnect;
  }

  /** A builder of a client of the gateway at {@code target} ({@code host:port}). */
  public static Builder builder(String target) {
    return new Builder(target);
  }

  /** Options of a client. */
  public static final class Builder {
    private final String target;
    private String apiKey;
    private boolean tls;
    private Path caFile;
    private ReconnectPolicy reconnect = ReconnectPolicy.DEFAULT;

    private Builder(String target) {
      this.target = target;
    }

    /** Sends {@code authorization: Bearer <key>} with every call. */
    public Builder apiKey(String key) {
      this.apiKey = key;
      return this;
    }

    /** Connects with TLS, trusting the system's root CAs (default: plaintext, as in a cluster). */
    public Builder tls() {
      this.tls = true;
      return this;
    }

    /** Connects with TLS, trusting the CA certificates in this PEM file. */
    public Builder caFile(Path file) {
      this.caFile = file;
      return this;
    }

    /** How streams reconnect after UNAVAILABLE. */
    public Builder reconnect(ReconnectPolicy policy) {
      this.reconnect = policy;
      return this;
    }

    /** Makes the client; the first call connects. */
    public SmsGatewayClient build() {
      return new SmsGatewayClient(this);
    }
  }

  /** A new UUID4: the request_id of one logical send. */
  public static String newRequestId() {
    return UUID.randomUUID().toString();
  }

  /** The generated blocking stub on the same channel, for what this layer does not wrap. */
  public SmsGatewayGrpc.SmsGatewayBlockingStub raw() {
    return stub;
  }

  /** The channel, for other stubs (async, future) of the same connection. */
  public Channel channel() {
    return channel;
  }

  /**
   * Sends one plain SMS. Without a request_id the request gets a new UUID4 first, reused by
   * every retry; the answer and every {@link GatewayException#requestId()} carry it.
   */
  public SendSmsResponse sendSms(SendSmsRequest request) {
    return sendSms(request, null);
  }

  /** As {@link #sendSms(SendSmsRequest)}, within {@code timeout} (null: the configured one). */
  public SendSmsResponse sendSms(SendSmsRequest request, Duration timeout) {
    SendSmsRequest withId =
        request.getRequestId().isEmpty() ? request.toBuilder().setRequestId(newRequestId()).build() : request;
    return call(withId.getRequestId(), () -> stub(timeout).sendSms(withId));
  }

  /** Sends an SMS from an approved template; as {@link #sendSms(SendSmsRequest)}. */
  public SendTemplateSmsResponse sendTemplateSms(SendTemplateSmsRequest request, Duration timeout) {
    SendTemplateSmsRequest withId =
        request.getRequestId().isEmpty() ? request.toBuilder().setRequestId(newRequestId()).build() : request;
    return call(withId.getRequestId(), () -> stub(timeout).sendTemplateSms(withId));
  }

  /**
   * The whole stored result of one send: the first page's header (totals, content) and every
   * provider call with its recipients' delivery status.
   *
   * @param header the first page without its calls
   * @param calls every call, in order
   */
  public record SendResult(GetSendResponse header, List<SendCallStatus> calls) {}

  /** The whole stored result of the send with this request_id, every page read. */
  public SendResult getSend(String requestId) {
    List<SendCallStatus> calls = new ArrayList<>();
    GetSendResponse header = null;
    String token = "";
    do {
      GetSendRequest request =
          GetSendRequest.newBuilder().setRequestId(requestId).setPageToken(token).build();
      GetSendResponse page = call(requestId, () -> stub.getSend(request));
      calls.addAll(page.getCallsList());
      if (header == null) {
        header = page.toBuilder().clearCalls().clearNextPageToken().build();
      }
      token = page.getNextPageToken();
    } while (!token.isEmpty());
    return new SendResult(header, List.copyOf(calls));
  }

  /** The delivery status of every recipient of one provider call. */
  public GetSendStatusResponse getSendStatus(String bizId) {
    return call("", () -> stub.getSendStatus(GetSendStatusRequest.newBuilder().setBizId(bizId).build()));
  }

  /** The account balance, exact. */
  public BigDecimal getBalance() {
    return new BigDecimal(getBalanceResponse().getBalance());
  }

  /** The balance as the gateway answers it (with the time it was read). */
  public GetBalanceResponse getBalanceResponse() {
    return call("", () -> stub.getBalance(GetBalanceRequest.getDefaultInstance()));
  }

  /** Acknowledges events of a consumer group; returns how many were pending. */
  public int acknowledge(EventStream stream, String group, List<Long> cursors) {
    int acknowledged = 0;
    for (int i = 0; i < cursors.size(); i += 10_000) {
      AcknowledgeEventsRequest request =
          AcknowledgeEventsRequest.newBuilder()
              .setStream(stream)
              .setConsumerGroup(group)
              .addAllCursors(cursors.subList(i, Math.min(cursors.size(), i + 10_000)))
              .build();
      acknowledged += call("", () -> stub.acknowledgeEvents(request)).getAcknowledgedCount();
    }
    return acknowledged;
  }

  /** Deletes a consumer group; false when there was none. */
  public boolean deleteConsumerGroup(EventStream stream, String group) {
    DeleteConsumerGroupRequest request =
        DeleteConsumerGroupRequest.newBuilder().setStream(stream).setConsumerGroup(group).build();
    return call("", () -> stub.deleteConsumerGroup(request)).getDeleted();
  }

  /** Every stored delivery report matching the filter, oldest first, every page read. */
  public List<DeliveryReport> listDeliveryReports(DeliveryReportFilter filter) {
    List<DeliveryReport> reports = new ArrayList<>();
    String token = "";
    do {
      ListDeliveryReportsRequest request =
          ListDeliveryReportsRequest.newBuilder().setFilter(filter).setPageSize(1000).setPageToken(token).build();
      ListDeliveryReportsResponse page = call("", () -> stub.listDeliveryReports(request));
      reports.addAll(page.getReportsList());
      token = page.getNextPageToken();
    } while (!token.isEmpty());
    return reports;
  }

  /**
   * The {@code max_events_per_response} the stream helpers ask for when the request leaves
   * it 0: several events per response, which they return one at a time.
   */
  public static final int DEFAULT_EVENTS_PER_RESPONSE = 100;

  /**
   * Streams delivery reports (see the proto for start, filter, consumer groups), one at a
   * time, resuming right after the last report returned when the connection drops. Asks
   * for {@link #DEFAULT_EVENTS_PER_RESPONSE} reports per response unless the request sets
   * {@code max_events_per_response} (1: one per response).
   */
  public EventIterator<DeliveryReport> streamDeliveryReports(StreamDeliveryReportsRequest request) {
    StreamDeliveryReportsRequest batched =
        request.getMaxEventsPerResponse() != 0
            ? request
            : request.toBuilder().setMaxEventsPerResponse(DEFAULT_EVENTS_PER_RESPONSE).build();
    return new EventIterator<>(
        after -> {
          StreamDeliveryReportsRequest attempt =
              after == null ? batched : batched.toBuilder().setStart(afterCursor(after)).build();
          Iterator<StreamDeliveryReportsResponse> responses = stub.streamDeliveryReports(attempt);
          return oneByOne(
              responses,
              r -> r.getReportsCount() > 0
                  ? r.getReportsList()
                  : r.hasReport() ? List.of(r.getReport()) : List.of());
        },
        DeliveryReport::getCursor,
        request.hasConsumerGroup(),
        reconnect);
  }

  /** Streams uplinks; as {@link #streamDeliveryReports}. */
  public EventIterator<Uplink> streamUplinks(StreamUplinksRequest request) {
    StreamUplinksRequest batched =
        request.getMaxEventsPerResponse() != 0
            ? request
            : request.toBuilder().setMaxEventsPerResponse(DEFAULT_EVENTS_PER_RESPONSE).build();
    return new EventIterator<>(
        after -> {
          StreamUplinksRequest attempt =
              after == null ? batched : batched.toBuilder().setStart(afterCursor(after)).build();
          Iterator<StreamUplinksResponse> responses = stub.streamUplinks(attempt);
          return oneByOne(
              responses,
              r -> r.getUplinksCount() > 0
                  ? r.getUplinksList()
                  : r.hasUplink() ? List.of(r.getUplink()) : List.of());
        },
        Uplink::getCursor,
        request.hasConsumerGroup(),
        reconnect);
  }

  /** Closes the channel, waiting up to 5 s for calls in progress. */
  @Override
  public void close() {
    channel.shutdown();
    try {
      if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
        channel.shutdownNow();
      }
    } catch (InterruptedException e) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  private SmsGatewayGrpc.SmsGatewayBlockingStub stub(Duration timeout) {
    return timeout == null ? stub : stub.withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  private static <T> T call(String requestId, Supplier<T> rpc) {
    try {
      return rpc.get();
    } catch (StatusRuntimeException e) {
      throw GatewayException.from(e, requestId);
    }
  }

  private static StreamStart afterCursor(long cursor) {
    return StreamStart.newBuilder().setAfterCursor(cursor).build();
  }

  /**
   * The events of a stream of responses, one per {@code next()}: every event of a response
   * is returned before the next response (or the stream's error) is read.
   */
  private static <A, B> Iterator<B> oneByOne(
      Iterator<A> source, java.util.function.Function<A, List<B>> events) {
    return new Iterator<>() {
      private Iterator<B> pending = java.util.Collections.emptyIterator();

      @Override
      public boolean hasNext() {
        while (!pending.hasNext()) {
          if (!source.hasNext()) {
            return false;
          }
          pending = events.apply(source.next()).iterator();
        }
        return true;
      }

      @Override
      public B next() {
        if (!hasNext()) {
          throw new java.util.NoSuchElementException();
        }
        return pending.next();
      }
    };
  }

  private static Map<String, Object> serviceConfigFile() {
    try (InputStream in = SmsGatewayClient.class.getResourceAsStream("service_config.json")) {
      if (in == null) {
        throw new IllegalStateException("service_config.json is missing from the jar");
      }
      Struct.Builder struct = Struct.newBuilder();
      JsonFormat.parser().merge(new String(in.readAllBytes(), StandardCharsets.UTF_8), struct);
      return toMap(struct.build());
    } catch (IOException e) {
      throw new UncheckedIOException("service_config.json", e);
    }
  }

  // gRPC takes a service config as JSON-like maps: String, Double, Boolean, List, Map.
  private static Map<String, Object> toMap(Struct struct) {
    Map<String, Object> map = new LinkedHashMap<>();
    struct.getFieldsMap().forEach((key, value) -> map.put(key, toJava(value)));
    return map;
  }

  private static Object toJava(Value value) {
    return switch (value.getKindCase()) {
      case STRUCT_VALUE -> toMap(value.getStructValue());
      case LIST_VALUE -> value.getListValue().getValuesList().stream().map(SmsGatewayClient::toJava).toList();
      case NUMBER_VALUE -> value.getNumberValue();
      case STRING_VALUE -> value.getStringValue();
      case BOOL_VALUE -> value.getBoolValue();
      default -> null;
    };
  }

  private static final class ApiKeyInterceptor implements ClientInterceptor {
    private final String header;

    ApiKeyInterceptor(String key) {
      this.header = "Bearer " + key;
    }

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(
        MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
      return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
        @Override
        public void start(Listener<R> listener, Metadata headers) {
          headers.put(AUTHORIZATION, header);
          super.start(listener, headers);
        }
      };
    }
  }
}
