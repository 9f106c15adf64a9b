package io.github.smsgateway.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * SmsGateway is the one API in front of the SMS provider's HTTP API v1.0.
 * The gateway owns the provider credentials and access token, validates and
 * normalises every request, splits large recipient lists into provider calls,
 * and turns the provider's delivery reports and inbound messages (uplinks) into
 * durable, resumable streams.
 * Errors follow one table. Bad input gets `INVALID_ARGUMENT` with a
 * `google.rpc.BadRequest` that lists every violation (field, phone number,
 * reason). Every failure carries a `google.rpc.ErrorInfo` with domain
 * `smsgateway`, a `reason` that is the name of an `ErrorReason` value and,
 * where the provider answered, its code in `metadata["provider_code"]`; a
 * `google.rpc.RetryInfo` is attached when retrying later is expected to help.
 * Status details stay small (a few KiB at most) whatever the size of the
 * request.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class SmsGatewayGrpc {

  private SmsGatewayGrpc() {}

  public static final java.lang.String SERVICE_NAME = "smsgateway.v1.SmsGateway";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<io.github.smsgateway.v1.SendSmsRequest,
      io.github.smsgateway.v1.SendSmsResponse> getSendSmsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "SendSms",
      requestType = io.github.smsgateway.v1.SendSmsRequest.class,
      responseType = io.github.smsgateway.v1.SendSmsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.github.smsgateway.v1.SendSmsRequest,
      io.github.smsgateway.v1.SendSmsResponse> getSendSmsMethod() {
    io.grpc.MethodDescriptor<io.github.smsgateway.v1.SendSmsRequest, io.github.smsgateway.v1.SendSmsResponse> getSendSmsMethod;
    if ((getSendSmsMethod = SmsGatewayGrpc.getSendSmsMethod) == null) {
      synchronized (SmsGatewayGrpc.class) {
        if ((getSendSmsMethod = SmsGatewayGrpc.getSendSmsMethod) == null) {
          SmsGatewayGrpc.getSendSmsMethod = getSendSmsMethod =
              io.grpc.MethodDescriptor.<io.github.smsgateway.v1.SendSmsRequest, io.github.smsgateway.v1.SendSmsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "SendSms"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.SendSmsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.SendSmsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SmsGatewayMethodDescriptorSupplier("SendSms"))
              .build();
        }
      }
    }
    return getSendSmsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.github.smsgateway.v1.SendTemplateSmsRequest,
      io.github.smsgateway.v1.SendTemplateSmsResponse> getSendTemplateSmsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "SendTemplateSms",
      requestType = io.github.smsgateway.v1.SendTemplateSmsRequest.class,
      responseType = io.github.smsgateway.v1.SendTemplateSmsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.github.smsgateway.v1.SendTemplateSmsRequest,
      io.github.smsgateway.v1.SendTemplateSmsResponse> getSendTemplateSmsMethod() {
    io.grpc.MethodDescriptor<io.github.smsgateway.v1.SendTemplateSmsRequest, io.github.smsgateway.v1.SendTemplateSmsResponse> getSendTemplateSmsMethod;
    if ((getSendTemplateSmsMethod = SmsGatewayGrpc.getSendTemplateSmsMethod) == null) {
      synchronized (SmsGatewayGrpc.class) {
        if ((getSendTemplateSmsMethod = SmsGatewayGrpc.getSendTemplateSmsMethod) == null) {
          SmsGatewayGrpc.getSendTemplateSmsMethod = getSendTemplateSmsMethod =
              io.grpc.MethodDescriptor.<io.github.smsgateway.v1.SendTemplateSmsRequest, io.github.smsgateway.v1.SendTemplateSmsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "SendTemplateSms"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.SendTemplateSmsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.SendTemplateSmsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SmsGatewayMethodDescriptorSupplier("SendTemplateSms"))
              .build();
        }
      }
    }
    return getSendTemplateSmsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.github.smsgateway.v1.GetBalanceRequest,
      io.github.smsgateway.v1.GetBalanceResponse> getGetBalanceMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetBalance",
      requestType = io.github.smsgateway.v1.GetBalanceRequest.class,
      responseType = io.github.smsgateway.v1.GetBalanceResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.github.smsgateway.v1.GetBalanceRequest,
      io.github.smsgateway.v1.GetBalanceResponse> getGetBalanceMethod() {
    io.grpc.MethodDescriptor<io.github.smsgateway.v1.GetBalanceRequest, io.github.smsgateway.v1.GetBalanceResponse> getGetBalanceMethod;
    if ((getGetBalanceMethod = SmsGatewayGrpc.getGetBalanceMethod) == null) {
      synchronized (SmsGatewayGrpc.class) {
        if ((getGetBalanceMethod = SmsGatewayGrpc.getGetBalanceMethod) == null) {
          SmsGatewayGrpc.getGetBalanceMethod = getGetBalanceMethod =
              io.grpc.MethodDescriptor.<io.github.smsgateway.v1.GetBalanceRequest, io.github.smsgateway.v1.GetBalanceResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetBalance"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.GetBalanceRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.GetBalanceResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SmsGatewayMethodDescriptorSupplier("GetBalance"))
              .build();
        }
      }
    }
    return getGetBalanceMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.github.smsgateway.v1.GetSendRequest,
      io.github.smsgateway.v1.GetSendResponse> getGetSendMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetSend",
      requestType = io.github.smsgateway.v1.GetSendRequest.class,
      responseType = io.github.smsgateway.v1.GetSendResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.github.smsgateway.v1.GetSendRequest,
      io.github.smsgateway.v1.GetSendResponse> getGetSendMethod() {
    io.grpc.MethodDescriptor<io.github.smsgateway.v1.GetSendRequest, io.github.smsgateway.v1.GetSendResponse> getGetSendMethod;
    if ((getGetSendMethod = SmsGatewayGrpc.getGetSendMethod) == null) {
      synchronized (SmsGatewayGrpc.class) {
        if ((getGetSendMethod = SmsGatewayGrpc.getGetSendMethod) == null) {
          SmsGatewayGrpc.getGetSendMethod = getGetSendMethod =
              io.grpc.MethodDescriptor.<io.github.smsgateway.v1.GetSendRequest, io.github.smsgateway.v1.GetSendResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetSend"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.GetSendRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.GetSendResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SmsGatewayMethodDescriptorSupplier("GetSend"))
              .build();
        }
      }
    }
    return getGetSendMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.github.smsgateway.v1.StreamDeliveryReportsRequest,
      io.github.smsgateway.v1.StreamDeliveryReportsResponse> getStreamDeliveryReportsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "StreamDeliveryReports",
      requestType = io.github.smsgateway.v1.StreamDeliveryReportsRequest.class,
      responseType = io.github.smsgateway.v1.StreamDeliveryReportsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
  public static io.grpc.MethodDescriptor<io.github.smsgateway.v1.StreamDeliveryReportsRequest,
      io.github.smsgateway.v1.StreamDeliveryReportsResponse> getStreamDeliveryReportsMethod() {
    io.grpc.MethodDescriptor<io.github.smsgateway.v1.StreamDeliveryReportsRequest, io.github.smsgateway.v1.StreamDeliveryReportsResponse> getStreamDeliveryReportsMethod;
    if ((getStreamDeliveryReportsMethod = SmsGatewayGrpc.getStreamDeliveryReportsMethod) == null) {
      synchronized (SmsGatewayGrpc.class) {
        if ((getStreamDeliveryReportsMethod = SmsGatewayGrpc.getStreamDeliveryReportsMethod) == null) {
          SmsGatewayGrpc.getStreamDeliveryReportsMethod = getStreamDeliveryReportsMethod =
              io.grpc.MethodDescriptor.<io.github.smsgateway.v1.StreamDeliveryReportsRequest, io.github.smsgateway.v1.StreamDeliveryReportsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "StreamDeliveryReports"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.StreamDeliveryReportsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.StreamDeliveryReportsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SmsGatewayMethodDescriptorSupplier("StreamDeliveryReports"))
              .build();
        }
      }
    }
    return getStreamDeliveryReportsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.github.smsgateway.v1.StreamUplinksRequest,
      io.github.smsgateway.v1.StreamUplinksResponse> getStreamUplinksMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "StreamUplinks",
      requestType = io.github.smsgateway.v1.StreamUplinksRequest.class,
      responseType = io.github.smsgateway.v1.StreamUplinksResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
  public static io.grpc.MethodDescriptor<io.github.smsgateway.v1.StreamUplinksRequest,
      io.github.smsgateway.v1.StreamUplinksResponse> getStreamUplinksMethod() {
    io.grpc.MethodDescriptor<io.github.smsgateway.v1.StreamUplinksRequest, io.github.smsgateway.v1.StreamUplinksResponse> getStreamUplinksMethod;
    if ((getStreamUplinksMethod = SmsGatewayGrpc.getStreamUplinksMethod) == null) {
      synchronized (SmsGatewayGrpc.class) {
        if ((getStreamUplinksMethod = SmsGatewayGrpc.getStreamUplinksMethod) == null) {
          SmsGatewayGrpc.getStreamUplinksMethod = getStreamUplinksMethod =
              io.grpc.MethodDescriptor.<io.github.smsgateway.v1.StreamUplinksRequest, io.github.smsgateway.v1.StreamUplinksResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "StreamUplinks"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.StreamUplinksRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.StreamUplinksResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SmsGatewayMethodDescriptorSupplier("StreamUplinks"))
              .build();
        }
      }
    }
    return getStreamUplinksMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.github.smsgateway.v1.AcknowledgeEventsRequest,
      io.github.smsgateway.v1.AcknowledgeEventsResponse> getAcknowledgeEventsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "AcknowledgeEvents",
      requestType = io.github.smsgateway.v1.AcknowledgeEventsRequest.class,
      responseType = io.github.smsgateway.v1.AcknowledgeEventsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.github.smsgateway.v1.AcknowledgeEventsRequest,
      io.github.smsgateway.v1.AcknowledgeEventsResponse> getAcknowledgeEventsMethod() {
    io.grpc.MethodDescriptor<io.github.smsgateway.v1.AcknowledgeEventsRequest, io.github.smsgateway.v1.AcknowledgeEventsResponse> getAcknowledgeEventsMethod;
    if ((getAcknowledgeEventsMethod = SmsGatewayGrpc.getAcknowledgeEventsMethod) == null) {
      synchronized (SmsGatewayGrpc.class) {
        if ((getAcknowledgeEventsMethod = SmsGatewayGrpc.getAcknowledgeEventsMethod) == null) {
          SmsGatewayGrpc.getAcknowledgeEventsMethod = getAcknowledgeEventsMethod =
              io.grpc.MethodDescriptor.<io.github.smsgateway.v1.AcknowledgeEventsRequest, io.github.smsgateway.v1.AcknowledgeEventsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "AcknowledgeEvents"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.AcknowledgeEventsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.AcknowledgeEventsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SmsGatewayMethodDescriptorSupplier("AcknowledgeEvents"))
              .build();
        }
      }
    }
    return getAcknowledgeEventsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.github.smsgateway.v1.DeleteConsumerGroupRequest,
      io.github.smsgateway.v1.DeleteConsumerGroupResponse> getDeleteConsumerGroupMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DeleteConsumerGroup",
      requestType = io.github.smsgateway.v1.DeleteConsumerGroupRequest.class,
      responseType = io.github.smsgateway.v1.DeleteConsumerGroupResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.github.smsgateway.v1.DeleteConsumerGroupRequest,
      io.github.smsgateway.v1.DeleteConsumerGroupResponse> getDeleteConsumerGroupMethod() {
    io.grpc.MethodDescriptor<io.github.smsgateway.v1.DeleteConsumerGroupRequest, io.github.smsgateway.v1.DeleteConsumerGroupResponse> getDeleteConsumerGroupMethod;
    if ((getDeleteConsumerGroupMethod = SmsGatewayGrpc.getDeleteConsumerGroupMethod) == null) {
      synchronized (SmsGatewayGrpc.class) {
        if ((getDeleteConsumerGroupMethod = SmsGatewayGrpc.getDeleteConsumerGroupMethod) == null) {
          SmsGatewayGrpc.getDeleteConsumerGroupMethod = getDeleteConsumerGroupMethod =
              io.grpc.MethodDescriptor.<io.github.smsgateway.v1.DeleteConsumerGroupRequest, io.github.smsgateway.v1.DeleteConsumerGroupResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DeleteConsumerGroup"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.DeleteConsumerGroupRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.DeleteConsumerGroupResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SmsGatewayMethodDescriptorSupplier("DeleteConsumerGroup"))
              .build();
        }
      }
    }
    return getDeleteConsumerGroupMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.github.smsgateway.v1.GetSendStatusRequest,
      io.github.smsgateway.v1.GetSendStatusResponse> getGetSendStatusMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetSendStatus",
      requestType = io.github.smsgateway.v1.GetSendStatusRequest.class,
      responseType = io.github.smsgateway.v1.GetSendStatusResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.github.smsgateway.v1.GetSendStatusRequest,
      io.github.smsgateway.v1.GetSendStatusResponse> getGetSendStatusMethod() {
    io.grpc.MethodDescriptor<io.github.smsgateway.v1.GetSendStatusRequest, io.github.smsgateway.v1.GetSendStatusResponse> getGetSendStatusMethod;
    if ((getGetSendStatusMethod = SmsGatewayGrpc.getGetSendStatusMethod) == null) {
      synchronized (SmsGatewayGrpc.class) {
        if ((getGetSendStatusMethod = SmsGatewayGrpc.getGetSendStatusMethod) == null) {
          SmsGatewayGrpc.getGetSendStatusMethod = getGetSendStatusMethod =
              io.grpc.MethodDescriptor.<io.github.smsgateway.v1.GetSendStatusRequest, io.github.smsgateway.v1.GetSendStatusResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetSendStatus"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.GetSendStatusRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.GetSendStatusResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SmsGatewayMethodDescriptorSupplier("GetSendStatus"))
              .build();
        }
      }
    }
    return getGetSendStatusMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.github.smsgateway.v1.ListDeliveryReportsRequest,
      io.github.smsgateway.v1.ListDeliveryReportsResponse> getListDeliveryReportsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListDeliveryReports",
      requestType = io.github.smsgateway.v1.ListDeliveryReportsRequest.class,
      responseType = io.github.smsgateway.v1.ListDeliveryReportsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.github.smsgateway.v1.ListDeliveryReportsRequest,
      io.github.smsgateway.v1.ListDeliveryReportsResponse> getListDeliveryReportsMethod() {
    io.grpc.MethodDescriptor<io.github.smsgateway.v1.ListDeliveryReportsRequest, io.github.smsgateway.v1.ListDeliveryReportsResponse> getListDeliveryReportsMethod;
    if ((getListDeliveryReportsMethod = SmsGatewayGrpc.getListDeliveryReportsMethod) == null) {
      synchronized (SmsGatewayGrpc.class) {
        if ((getListDeliveryReportsMethod = SmsGatewayGrpc.getListDeliveryReportsMethod) == null) {
          SmsGatewayGrpc.getListDeliveryReportsMethod = getListDeliveryReportsMethod =
              io.grpc.MethodDescriptor.<io.github.smsgateway.v1.ListDeliveryReportsRequest, io.github.smsgateway.v1.ListDeliveryReportsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListDeliveryReports"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.ListDeliveryReportsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.ListDeliveryReportsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SmsGatewayMethodDescriptorSupplier("ListDeliveryReports"))
              .build();
        }
      }
    }
    return getListDeliveryReportsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.github.smsgateway.v1.ListUplinksRequest,
      io.github.smsgateway.v1.ListUplinksResponse> getListUplinksMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListUplinks",
      requestType = io.github.smsgateway.v1.ListUplinksRequest.class,
      responseType = io.github.smsgateway.v1.ListUplinksResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.github.smsgateway.v1.ListUplinksRequest,
      io.github.smsgateway.v1.ListUplinksResponse> getListUplinksMethod() {
    io.grpc.MethodDescriptor<io.github.smsgateway.v1.ListUplinksRequest, io.github.smsgateway.v1.ListUplinksResponse> getListUplinksMethod;
    if ((getListUplinksMethod = SmsGatewayGrpc.getListUplinksMethod) == null) {
      synchronized (SmsGatewayGrpc.class) {
        if ((getListUplinksMethod = SmsGatewayGrpc.getListUplinksMethod) == null) {
          SmsGatewayGrpc.getListUplinksMethod = getListUplinksMethod =
              io.grpc.MethodDescriptor.<io.github.smsgateway.v1.ListUplinksRequest, io.github.smsgateway.v1.ListUplinksResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListUplinks"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.ListUplinksRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.ListUplinksResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SmsGatewayMethodDescriptorSupplier("ListUplinks"))
              .build();
        }
      }
    }
    return getListUplinksMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.github.smsgateway.v1.ListSuppressionsRequest,
      io.github.smsgateway.v1.ListSuppressionsResponse> getListSuppressionsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListSuppressions",
      requestType = io.github.smsgateway.v1.ListSuppressionsRequest.class,
      responseType = io.github.smsgateway.v1.ListSuppressionsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.github.smsgateway.v1.ListSuppressionsRequest,
      io.github.smsgateway.v1.ListSuppressionsResponse> getListSuppressionsMethod() {
    io.grpc.MethodDescriptor<io.github.smsgateway.v1.ListSuppressionsRequest, io.github.smsgateway.v1.ListSuppressionsResponse> getListSuppressionsMethod;
    if ((getListSuppressionsMethod = SmsGatewayGrpc.getListSuppressionsMethod) == null) {
      synchronized (SmsGatewayGrpc.class) {
        if ((getListSuppressionsMethod = SmsGatewayGrpc.getListSuppressionsMethod) == null) {
          SmsGatewayGrpc.getListSuppressionsMethod = getListSuppressionsMethod =
              io.grpc.MethodDescriptor.<io.github.smsgateway.v1.ListSuppressionsRequest, io.github.smsgateway.v1.ListSuppressionsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListSuppressions"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.ListSuppressionsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.ListSuppressionsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SmsGatewayMethodDescriptorSupplier("ListSuppressions"))
              .build();
        }
      }
    }
    return getListSuppressionsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.github.smsgateway.v1.AddSuppressionRequest,
      io.github.smsgateway.v1.AddSuppressionResponse> getAddSuppressionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "AddSuppression",
      requestType = io.github.smsgateway.v1.AddSuppressionRequest.class,
      responseType = io.github.smsgateway.v1.AddSuppressionResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.github.smsgateway.v1.AddSuppressionRequest,
      io.github.smsgateway.v1.AddSuppressionResponse> getAddSuppressionMethod() {
    io.grpc.MethodDescriptor<io.github.smsgateway.v1.AddSuppressionRequest, io.github.smsgateway.v1.AddSuppressionResponse> getAddSuppressionMethod;
    if ((getAddSuppressionMethod = SmsGatewayGrpc.getAddSuppressionMethod) == null) {
      synchronized (SmsGatewayGrpc.class) {
        if ((getAddSuppressionMethod = SmsGatewayGrpc.getAddSuppressionMethod) == null) {
          SmsGatewayGrpc.getAddSuppressionMethod = getAddSuppressionMethod =
              io.grpc.MethodDescriptor.<io.github.smsgateway.v1.AddSuppressionRequest, io.github.smsgateway.v1.AddSuppressionResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "AddSuppression"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.AddSuppressionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.AddSuppressionResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SmsGatewayMethodDescriptorSupplier("AddSuppression"))
              .build();
        }
      }
    }
    return getAddSuppressionMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.github.smsgateway.v1.RemoveSuppressionRequest,
      io.github.smsgateway.v1.RemoveSuppressionResponse> getRemoveSuppressionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RemoveSuppression",
      requestType = io.github.smsgateway.v1.RemoveSuppressionRequest.class,
      responseType = io.github.smsgateway.v1.RemoveSuppressionResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.github.smsgateway.v1.RemoveSuppressionRequest,
      io.github.smsgateway.v1.RemoveSuppressionResponse> getRemoveSuppressionMethod() {
    io.grpc.MethodDescriptor<io.github.smsgateway.v1.RemoveSuppressionRequest, io.github.smsgateway.v1.RemoveSuppressionResponse> getRemoveSuppressionMethod;
    if ((getRemoveSuppressionMethod = SmsGatewayGrpc.getRemoveSuppressionMethod) == null) {
      synchronized (SmsGatewayGrpc.class) {
        if ((getRemoveSuppressionMethod = SmsGatewayGrpc.getRemoveSuppressionMethod) == null) {
          SmsGatewayGrpc.getRemoveSuppressionMethod = getRemoveSuppressionMethod =
              io.grpc.MethodDescriptor.<io.github.smsgateway.v1.RemoveSuppressionRequest, io.github.smsgateway.v1.RemoveSuppressionResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RemoveSuppression"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.RemoveSuppressionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.github.smsgateway.v1.RemoveSuppressionResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SmsGatewayMethodDescriptorSupplier("RemoveSuppression"))
              .build();
        }
      }
    }
    return getRemoveSuppressionMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static SmsGatewayStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<SmsGatewayStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<SmsGatewayStub>() {
        @java.lang.Override
        public SmsGatewayStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new SmsGatewayStub(channel, callOptions);
        }
      };
    return SmsGatewayStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static SmsGatewayBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<SmsGatewayBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<SmsGatewayBlockingV2Stub>() {
        @java.lang.Override
        public SmsGatewayBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new SmsGatewayBlockingV2Stub(channel, callOptions);
        }
      };
    return SmsGatewayBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static SmsGatewayBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<SmsGatewayBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<SmsGatewayBlockingStub>() {
        @java.lang.Override
        public SmsGatewayBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new SmsGatewayBlockingStub(channel, callOptions);
        }
      };
    return SmsGatewayBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static SmsGatewayFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<SmsGatewayFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<SmsGatewayFutureStub>() {
        @java.lang.Override
        public SmsGatewayFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new SmsGatewayFutureStub(channel, callOptions);
        }
      };
    return SmsGatewayFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * SmsGateway is the one API in front of the SMS provider's HTTP API v1.0.
   * The gateway owns the provider credentials and access token, validates and
   * normalises every request, splits large recipient lists into provider calls,
   * and turns the provider's delivery reports and inbound messages (uplinks) into
   * durable, resumable streams.
   * Errors follow one table. Bad input gets `INVALID_ARGUMENT` with a
   * `google.rpc.BadRequest` that lists every violation (field, phone number,
   * reason). Every failure carries a `google.rpc.ErrorInfo` with domain
   * `smsgateway`, a `reason` that is the name of an `ErrorReason` value and,
   * where the provider answered, its code in `metadata["provider_code"]`; a
   * `google.rpc.RetryInfo` is attached when retrying later is expected to help.
   * Status details stay small (a few KiB at most) whatever the size of the
   * request.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Sends one plain SMS to one or many phone numbers.
     * The recipients are normalised and de-duplicated, then split into provider
     * calls of at most 1,000 numbers and 1,500 characters each; the calls run
     * with bounded concurrency within the caller's deadline.
     * Returns `OK` only when every provider call was accepted. When any call
     * failed, the RPC fails with the status of that failure and a `SendFailure`
     * in the status details: the request_id, the counts and the first few
     * failed calls (bounded, whatever the number of recipients). `GetSend`
     * with that request_id returns the whole result: every call, its bizId and
     * outcome. A retry with the same `request_id` sends only the calls that did
     * not go out. A call whose outcome is unknown (the request left but no
     * answer came) is reported as `UPSTREAM_OUTCOME_UNKNOWN` and never repeated
     * by the gateway.
     * A caller whose deadline passes (`DEADLINE_EXCEEDED`) or who cancels does
     * not stop the send: the calls already started finish and are recorded.
     * Retry with the same `request_id`, or ask `GetSend`, to learn the outcome.
     * </pre>
     */
    default void sendSms(io.github.smsgateway.v1.SendSmsRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.SendSmsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getSendSmsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Sends an SMS built from a template approved by the provider. Same
     * semantics as `SendSms`.
     * </pre>
     */
    default void sendTemplateSms(io.github.smsgateway.v1.SendTemplateSmsRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.SendTemplateSmsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getSendTemplateSmsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns the account balance as the provider reports it, as an exact
     * decimal.
     * </pre>
     */
    default void getBalance(io.github.smsgateway.v1.GetBalanceRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.GetBalanceResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetBalanceMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns the whole stored result of one send by its `request_id`: every
     * provider call with its recipients, bizId and outcome, and the delivery
     * status of every recipient of the accepted calls, one page of calls at a
     * time. Fails with `NOT_FOUND` (reason `SEND_NOT_FOUND`) when the
     * request_id is unknown or expired (ids are kept for 24 hours by default).
     * The outcomes of a finished send are recorded within milliseconds after
     * the send returned; until then a call reads `CALL_OUTCOME_UNKNOWN` with
     * message `in flight`.
     * </pre>
     */
    default void getSend(io.github.smsgateway.v1.GetSendRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.GetSendResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetSendMethod(), responseObserver);
    }

    /**
     * <pre>
     * Streams delivery reports: first those already stored from the requested
     * start position, then new ones as they arrive, with no gap and no duplicate
     * at the seam between the two.
     * Without `consumer_group` every subscriber receives every matching report.
     * With `consumer_group` the members of the group share the reports: each
     * report goes to one member at a time and must be acknowledged with
     * `AcknowledgeEvents`; a report not acknowledged within the ack deadline, or
     * held by a member that disconnects, is delivered to another member
     * (at-least-once). The group's position survives restarts.
     * A start cursor older than the retained history fails with `OUT_OF_RANGE`
     * (reason `CURSOR_OUT_OF_RANGE`); the oldest available cursor is in
     * `ErrorInfo.metadata["oldest_cursor"]`. A cursor newer than the newest
     * event fails with `OUT_OF_RANGE` (reason `CURSOR_AHEAD`,
     * `metadata["last_cursor"]`), so that a cursor from another store never
     * silently skips events. A subscriber that falls behind retention while
     * streaming gets `OUT_OF_RANGE` too. When the server shuts down, streams end
     * with `UNAVAILABLE` (reason `SHUTTING_DOWN`, with `RetryInfo`): reconnect
     * after the last cursor received.
     * </pre>
     */
    default void streamDeliveryReports(io.github.smsgateway.v1.StreamDeliveryReportsRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.StreamDeliveryReportsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getStreamDeliveryReportsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Streams uplinks (inbound messages). Same semantics as
     * `StreamDeliveryReports`.
     * </pre>
     */
    default void streamUplinks(io.github.smsgateway.v1.StreamUplinksRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.StreamUplinksResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getStreamUplinksMethod(), responseObserver);
    }

    /**
     * <pre>
     * Acknowledges events received by a consumer-group member, so that they are
     * not delivered again. Acknowledging an unknown or already acknowledged
     * cursor is not an error.
     * </pre>
     */
    default void acknowledgeEvents(io.github.smsgateway.v1.AcknowledgeEventsRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.AcknowledgeEventsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getAcknowledgeEventsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Deletes a consumer group: its position and every event it holds
     * unacknowledged. Members still streaming in the group have their streams
     * ended with `ABORTED` (reason `CONSUMER_GROUP_DELETED`); a member that
     * joins again afterwards starts a new group from its `StreamStart`.
     * Deleting a group that does not exist is not an error: the answer says
     * `deleted = false`. Fails with `PERMISSION_DENIED` when the caller may not
     * read the stream's events.
     * </pre>
     */
    default void deleteConsumerGroup(io.github.smsgateway.v1.DeleteConsumerGroupRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.DeleteConsumerGroupResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeleteConsumerGroupMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns the delivery status of every recipient of one provider call
     * (bizId). Recipients without a report yet are `DELIVERY_STATUS_PENDING`.
     * Fails with `NOT_FOUND` when the bizId is neither in the send log nor in
     * any stored report. A send's bizIds enter the send log within milliseconds
     * after the send returned.
     * </pre>
     */
    default void getSendStatus(io.github.smsgateway.v1.GetSendStatusRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.GetSendStatusResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetSendStatusMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists stored delivery reports, oldest first, one page at a time.
     * </pre>
     */
    default void listDeliveryReports(io.github.smsgateway.v1.ListDeliveryReportsRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.ListDeliveryReportsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListDeliveryReportsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists stored uplinks, oldest first, one page at a time.
     * </pre>
     */
    default void listUplinks(io.github.smsgateway.v1.ListUplinksRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.ListUplinksResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListUplinksMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists the phone numbers that opted out of marketing messages for a sign.
     * </pre>
     */
    default void listSuppressions(io.github.smsgateway.v1.ListSuppressionsRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.ListSuppressionsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListSuppressionsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Puts a phone number on the suppression list of a sign. Adding a number
     * that is already suppressed is not an error.
     * </pre>
     */
    default void addSuppression(io.github.smsgateway.v1.AddSuppressionRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.AddSuppressionResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getAddSuppressionMethod(), responseObserver);
    }

    /**
     * <pre>
     * Removes a phone number from the suppression list of a sign. Removing a
     * number that is not suppressed is not an error.
     * </pre>
     */
    default void removeSuppression(io.github.smsgateway.v1.RemoveSuppressionRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.RemoveSuppressionResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRemoveSuppressionMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service SmsGateway.
   * <pre>
   * SmsGateway is the one API in front of the SMS provider's HTTP API v1.0.
   * The gateway owns the provider credentials and access token, validates and
   * normalises every request, splits large recipient lists into provider calls,
   * and turns the provider's delivery reports and inbound messages (uplinks) into
   * durable, resumable streams.
   * Errors follow one table. Bad input gets `INVALID_ARGUMENT` with a
   * `google.rpc.BadRequest` that lists every violation (field, phone number,
   * reason). Every failure carries a `google.rpc.ErrorInfo` with domain
   * `smsgateway`, a `reason` that is the name of an `ErrorReason` value and,
   * where the provider answered, its code in `metadata["provider_code"]`; a
   * `google.rpc.RetryInfo` is attached when retrying later is expected to help.
   * Status details stay small (a few KiB at most) whatever the size of the
   * request.
   * </pre>
   */
  public static abstract class SmsGatewayImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return SmsGatewayGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service SmsGateway.
   * <pre>
   * SmsGateway is the one API in front of the SMS provider's HTTP API v1.0.
   * The gateway owns the provider credentials and access token, validates and
   * normalises every request, splits large recipient lists into provider calls,
   * and turns the provider's delivery reports and inbound messages (uplinks) into
   * durable, resumable streams.
   * Errors follow one table. Bad input gets `INVALID_ARGUMENT` with a
   * `google.rpc.BadRequest` that lists every violation (field, phone number,
   * reason). Every failure carries a `google.rpc.ErrorInfo` with domain
   * `smsgateway`, a `reason` that is the name of an `ErrorReason` value and,
   * where the provider answered, its code in `metadata["provider_code"]`; a
   * `google.rpc.RetryInfo` is attached when retrying later is expected to help.
   * Status details stay small (a few KiB at most) whatever the size of the
   * request.
   * </pre>
   */
  public static final class SmsGatewayStub
      extends io.grpc.stub.AbstractAsyncStub<SmsGatewayStub> {
    private SmsGatewayStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected SmsGatewayStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new SmsGatewayStub(channel, callOptions);
    }

    /**
     * <pre>
     * Sends one plain SMS to one or many phone numbers.
     * The recipients are normalised and de-duplicated, then split into provider
     * calls of at most 1,000 numbers and 1,500 characters each; the calls run
     * with bounded concurrency within the caller's deadline.
     * Returns `OK` only when every provider call was accepted. When any call
     * failed, the RPC fails with the status of that failure and a `SendFailure`
     * in the status details: the request_id, the counts and the first few
     * failed calls (bounded, whatever the number of recipients). `GetSend`
     * with that request_id returns the whole result: every call, its bizId and
     * outcome. A retry with the same `request_id` sends only the calls that did
     * not go out. A call whose outcome is unknown (the request left but no
     * answer came) is reported as `UPSTREAM_OUTCOME_UNKNOWN` and never repeated
     * by the gateway.
     * A caller whose deadline passes (`DEADLINE_EXCEEDED`) or who cancels does
     * not stop the send: the calls already started finish and are recorded.
     * Retry with the same `request_id`, or ask `GetSend`, to learn the outcome.
     * </pre>
     */
    public void sendSms(io.github.smsgateway.v1.SendSmsRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.SendSmsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getSendSmsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Sends an SMS built from a template approved by the provider. Same
     * semantics as `SendSms`.
     * </pre>
     */
    public void sendTemplateSms(io.github.smsgateway.v1.SendTemplateSmsRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.SendTemplateSmsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getSendTemplateSmsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns the account balance as the provider reports it, as an exact
     * decimal.
     * </pre>
     */
    public void getBalance(io.github.smsgateway.v1.GetBalanceRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.GetBalanceResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetBalanceMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns the whole stored result of one send by its `request_id`: every
     * provider call with its recipients, bizId and outcome, and the delivery
     * status of every recipient of the accepted calls, one page of calls at a
     * time. Fails with `NOT_FOUND` (reason `SEND_NOT_FOUND`) when the
     * request_id is unknown or expired (ids are kept for 24 hours by default).
     * The outcomes of a finished send are recorded within milliseconds after
     * the send returned; until then a call reads `CALL_OUTCOME_UNKNOWN` with
     * message `in flight`.
     * </pre>
     */
    public void getSend(io.github.smsgateway.v1.GetSendRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.GetSendResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetSendMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Streams delivery reports: first those already stored from the requested
     * start position, then new ones as they arrive, with no gap and no duplicate
     * at the seam between the two.
     * Without `consumer_group` every subscriber receives every matching report.
     * With `consumer_group` the members of the group share the reports: each
     * report goes to one member at a time and must be acknowledged with
     * `AcknowledgeEvents`; a report not acknowledged within the ack deadline, or
     * held by a member that disconnects, is delivered to another member
     * (at-least-once). The group's position survives restarts.
     * A start cursor older than the retained history fails with `OUT_OF_RANGE`
     * (reason `CURSOR_OUT_OF_RANGE`); the oldest available cursor is in
     * `ErrorInfo.metadata["oldest_cursor"]`. A cursor newer than the newest
     * event fails with `OUT_OF_RANGE` (reason `CURSOR_AHEAD`,
     * `metadata["last_cursor"]`), so that a cursor from another store never
     * silently skips events. A subscriber that falls behind retention while
     * streaming gets `OUT_OF_RANGE` too. When the server shuts down, streams end
     * with `UNAVAILABLE` (reason `SHUTTING_DOWN`, with `RetryInfo`): reconnect
     * after the last cursor received.
     * </pre>
     */
    public void streamDeliveryReports(io.github.smsgateway.v1.StreamDeliveryReportsRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.StreamDeliveryReportsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncServerStreamingCall(
          getChannel().newCall(getStreamDeliveryReportsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Streams uplinks (inbound messages). Same semantics as
     * `StreamDeliveryReports`.
     * </pre>
     */
    public void streamUplinks(io.github.smsgateway.v1.StreamUplinksRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.StreamUplinksResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncServerStreamingCall(
          getChannel().newCall(getStreamUplinksMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Acknowledges events received by a consumer-group member, so that they are
     * not delivered again. Acknowledging an unknown or already acknowledged
     * cursor is not an error.
     * </pre>
     */
    public void acknowledgeEvents(io.github.smsgateway.v1.AcknowledgeEventsRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.AcknowledgeEventsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getAcknowledgeEventsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Deletes a consumer group: its position and every event it holds
     * unacknowledged. Members still streaming in the group have their streams
     * ended with `ABORTED` (reason `CONSUMER_GROUP_DELETED`); a member that
     * joins again afterwards starts a new group from its `StreamStart`.
     * Deleting a group that does not exist is not an error: the answer says
     * `deleted = false`. Fails with `PERMISSION_DENIED` when the caller may not
     * read the stream's events.
     * </pre>
     */
    public void deleteConsumerGroup(io.github.smsgateway.v1.DeleteConsumerGroupRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.DeleteConsumerGroupResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeleteConsumerGroupMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns the delivery status of every recipient of one provider call
     * (bizId). Recipients without a report yet are `DELIVERY_STATUS_PENDING`.
     * Fails with `NOT_FOUND` when the bizId is neither in the send log nor in
     * any stored report. A send's bizIds enter the send log within milliseconds
     * after the send returned.
     * </pre>
     */
    public void getSendStatus(io.github.smsgateway.v1.GetSendStatusRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.GetSendStatusResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetSendStatusMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists stored delivery reports, oldest first, one page at a time.
     * </pre>
     */
    public void listDeliveryReports(io.github.smsgateway.v1.ListDeliveryReportsRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.ListDeliveryReportsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListDeliveryReportsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists stored uplinks, oldest first, one page at a time.
     * </pre>
     */
    public void listUplinks(io.github.smsgateway.v1.ListUplinksRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.ListUplinksResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListUplinksMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists the phone numbers that opted out of marketing messages for a sign.
     * </pre>
     */
    public void listSuppressions(io.github.smsgateway.v1.ListSuppressionsRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.ListSuppressionsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListSuppressionsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Puts a phone number on the suppression list of a sign. Adding a number
     * that is already suppressed is not an error.
     * </pre>
     */
    public void addSuppression(io.github.smsgateway.v1.AddSuppressionRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.AddSuppressionResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getAddSuppressionMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Removes a phone number from the suppression list of a sign. Removing a
     * number that is not suppressed is not an error.
     * </pre>
     */
    public void removeSuppression(io.github.smsgateway.v1.RemoveSuppressionRequest request,
        io.grpc.stub.StreamObserver<io.github.smsgateway.v1.RemoveSuppressionResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRemoveSuppressionMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service SmsGateway.
   * <pre>
   * SmsGateway is the one API in front of the SMS provider's HTTP API v1.0.
   * The gateway owns the provider credentials and access token, validates and
   * normalises every request, splits large recipient lists into provider calls,
   * and turns the provider's delivery reports and inbound messages (uplinks) into
   * durable, resumable streams.
   * Errors follow one table. Bad input gets `INVALID_ARGUMENT` with a
   * `google.rpc.BadRequest` that lists every violation (field, phone number,
   * reason). Every failure carries a `google.rpc.ErrorInfo` with domain
   * `smsgateway`, a `reason` that is the name of an `ErrorReason` value and,
   * where the provider answered, its code in `metadata["provider_code"]`; a
   * `google.rpc.RetryInfo` is attached when retrying later is expected to help.
   * Status details stay small (a few KiB at most) whatever the size of the
   * request.
   * </pre>
   */
  public static final class SmsGatewayBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<SmsGatewayBlockingV2Stub> {
    private SmsGatewayBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected SmsGatewayBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new SmsGatewayBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Sends one plain SMS to one or many phone numbers.
     * The recipients are normalised and de-duplicated, then split into provider
     * calls of at most 1,000 numbers and 1,500 characters each; the calls run
     * with bounded concurrency within the caller's deadline.
     * Returns `OK` only when every provider call was accepted. When any call
     * failed, the RPC fails with the status of that failure and a `SendFailure`
     * in the status details: the request_id, the counts and the first few
     * failed calls (bounded, whatever the number of recipients). `GetSend`
     * with that request_id returns the whole result: every call, its bizId and
     * outcome. A retry with the same `request_id` sends only the calls that did
     * not go out. A call whose outcome is unknown (the request left but no
     * answer came) is reported as `UPSTREAM_OUTCOME_UNKNOWN` and never repeated
     * by the gateway.
     * A caller whose deadline passes (`DEADLINE_EXCEEDED`) or who cancels does
     * not stop the send: the calls already started finish and are recorded.
     * Retry with the same `request_id`, or ask `GetSend`, to learn the outcome.
     * </pre>
     */
    public io.github.smsgateway.v1.SendSmsResponse sendSms(io.github.smsgateway.v1.SendSmsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getSendSmsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Sends an SMS built from a template approved by the provider. Same
     * semantics as `SendSms`.
     * </pre>
     */
    public io.github.smsgateway.v1.SendTemplateSmsResponse sendTemplateSms(io.github.smsgateway.v1.SendTemplateSmsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getSendTemplateSmsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns the account balance as the provider reports it, as an exact
     * decimal.
     * </pre>
     */
    public io.github.smsgateway.v1.GetBalanceResponse getBalance(io.github.smsgateway.v1.GetBalanceRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetBalanceMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns the whole stored result of one send by its `request_id`: every
     * provider call with its recipients, bizId and outcome, and the delivery
     * status of every recipient of the accepted calls, one page of calls at a
     * time. Fails with `NOT_FOUND` (reason `SEND_NOT_FOUND`) when the
     * request_id is unknown or expired (ids are kept for 24 hours by default).
     * The outcomes of a finished send are recorded within milliseconds after
     * the send returned; until then a call reads `CALL_OUTCOME_UNKNOWN` with
     * message `in flight`.
     * </pre>
     */
    public io.github.smsgateway.v1.GetSendResponse getSend(io.github.smsgateway.v1.GetSendRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetSendMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Streams delivery reports: first those already stored from the requested
     * start position, then new ones as they arrive, with no gap and no duplicate
     * at the seam between the two.
     * Without `consumer_group` every subscriber receives every matching report.
     * With `consumer_group` the members of the group share the reports: each
     * report goes to one member at a time and must be acknowledged with
     * `AcknowledgeEvents`; a report not acknowledged within the ack deadline, or
     * held by a member that disconnects, is delivered to another member
     * (at-least-once). The group's position survives restarts.
     * A start cursor older than the retained history fails with `OUT_OF_RANGE`
     * (reason `CURSOR_OUT_OF_RANGE`); the oldest available cursor is in
     * `ErrorInfo.metadata["oldest_cursor"]`. A cursor newer than the newest
     * event fails with `OUT_OF_RANGE` (reason `CURSOR_AHEAD`,
     * `metadata["last_cursor"]`), so that a cursor from another store never
     * silently skips events. A subscriber that falls behind retention while
     * streaming gets `OUT_OF_RANGE` too. When the server shuts down, streams end
     * with `UNAVAILABLE` (reason `SHUTTING_DOWN`, with `RetryInfo`): reconnect
     * after the last cursor received.
     * </pre>
     */
    @io.grpc.ExperimentalApi("https://github.com/grpc/grpc-java/issues/10918")
    public io.grpc.stub.BlockingClientCall<?, io.github.smsgateway.v1.StreamDeliveryReportsResponse>
        streamDeliveryReports(io.github.smsgateway.v1.StreamDeliveryReportsRequest request) {
      return io.grpc.stub.ClientCalls.blockingV2ServerStreamingCall(
          getChannel(), getStreamDeliveryReportsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Streams uplinks (inbound messages). Same semantics as
     * `StreamDeliveryReports`.
     * </pre>
     */
    @io.grpc.ExperimentalApi("https://github.com/grpc/grpc-java/issues/10918")
    public io.grpc.stub.BlockingClientCall<?, io.github.smsgateway.v1.StreamUplinksResponse>
        streamUplinks(io.github.smsgateway.v1.StreamUplinksRequest request) {
      return io.grpc.stub.ClientCalls.blockingV2ServerStreamingCall(
          getChannel(), getStreamUplinksMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Acknowledges events received by a consumer-group member, so that they are
     * not delivered again. Acknowledging an unknown or already acknowledged
     * cursor is not an error.
     * </pre>
     */
    public io.github.smsgateway.v1.AcknowledgeEventsResponse acknowledgeEvents(io.github.smsgateway.v1.AcknowledgeEventsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getAcknowledgeEventsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Deletes a consumer group: its position and every event it holds
     * unacknowledged. Members still streaming in the group have their streams
     * ended with `ABORTED` (reason `CONSUMER_GROUP_DELETED`); a member that
     * joins again afterwards starts a new group from its `StreamStart`.
     * Deleting a group that does not exist is not an error: the answer says
     * `deleted = false`. Fails with `PERMISSION_DENIED` when the caller may not
     * read the stream's events.
     * </pre>
     */
    public io.github.smsgateway.v1.DeleteConsumerGroupResponse deleteConsumerGroup(io.github.smsgateway.v1.DeleteConsumerGroupRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getDeleteConsumerGroupMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns the delivery status of every recipient of one provider call
     * (bizId). Recipients without a report yet are `DELIVERY_STATUS_PENDING`.
     * Fails with `NOT_FOUND` when the bizId is neither in the send log nor in
     * any stored report. A send's bizIds enter the send log within milliseconds
     * after the send returned.
     * </pre>
     */
    public io.github.smsgateway.v1.GetSendStatusResponse getSendStatus(io.github.smsgateway.v1.GetSendStatusRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetSendStatusMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists stored delivery reports, oldest first, one page at a time.
     * </pre>
     */
    public io.github.smsgateway.v1.ListDeliveryReportsResponse listDeliveryReports(io.github.smsgateway.v1.ListDeliveryReportsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListDeliveryReportsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists stored uplinks, oldest first, one page at a time.
     * </pre>
     */
    public io.github.smsgateway.v1.ListUplinksResponse listUplinks(io.github.smsgateway.v1.ListUplinksRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListUplinksMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the phone numbers that opted out of marketing messages for a sign.
     * </pre>
     */
    public io.github.smsgateway.v1.ListSuppressionsResponse listSuppressions(io.github.smsgateway.v1.ListSuppressionsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListSuppressionsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Puts a phone number on the suppression list of a sign. Adding a number
     * that is already suppressed is not an error.
     * </pre>
     */
    public io.github.smsgateway.v1.AddSuppressionResponse addSuppression(io.github.smsgateway.v1.AddSuppressionRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getAddSuppressionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Removes a phone number from the suppression list of a sign. Removing a
     * number that is not suppressed is not an error.
     * </pre>
     */
    public io.github.smsgateway.v1.RemoveSuppressionResponse removeSuppression(io.github.smsgateway.v1.RemoveSuppressionRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRemoveSuppressionMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service SmsGateway.
   * <pre>
   * SmsGateway is the one API in front of the SMS provider's HTTP API v1.0.
   * The gateway owns the provider credentials and access token, validates and
   * normalises every request, splits large recipient lists into provider calls,
   * and turns the provider's delivery reports and inbound messages (uplinks) into
   * durable, resumable streams.
   * Errors follow one table. Bad input gets `INVALID_ARGUMENT` with a
   * `google.rpc.BadRequest` that lists every violation (field, phone number,
   * reason). Every failure carries a `google.rpc.ErrorInfo` with domain
   * `smsgateway`, a `reason` that is the name of an `ErrorReason` value and,
   * where the provider answered, its code in `metadata["provider_code"]`; a
   * `google.rpc.RetryInfo` is attached when retrying later is expected to help.
   * Status details stay small (a few KiB at most) whatever the size of the
   * request.
   * </pre>
   */
  public static final class SmsGatewayBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<SmsGatewayBlockingStub> {
    private SmsGatewayBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected SmsGatewayBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new SmsGatewayBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Sends one plain SMS to one or many phone numbers.
     * The recipients are normalised and de-duplicated, then split into provider
     * calls of at most 1,000 numbers and 1,500 characters each; the calls run
     * with bounded concurrency within the caller's deadline.
     * Returns `OK` only when every provider call was accepted. When any call
     * failed, the RPC fails with the status of that failure and a `SendFailure`
     * in the status details: the request_id, the counts and the first few
     * failed calls (bounded, whatever the number of recipients). `GetSend`
     * with that request_id returns the whole result: every call, its bizId and
     * outcome. A retry with the same `request_id` sends only the calls that did
     * not go out. A call whose outcome is unknown (the request left but no
     * answer came) is reported as `UPSTREAM_OUTCOME_UNKNOWN` and never repeated
     * by the gateway.
     * A caller whose deadline passes (`DEADLINE_EXCEEDED`) or who cancels does
     * not stop the send: the calls already started finish and are recorded.
     * Retry with the same `request_id`, or ask `GetSend`, to learn the outcome.
     * </pre>
     */
    public io.github.smsgateway.v1.SendSmsResponse sendSms(io.github.smsgateway.v1.SendSmsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getSendSmsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Sends an SMS built from a template approved by the provider. Same
     * semantics as `SendSms`.
     * </pre>
     */
    public io.github.smsgateway.v1.SendTemplateSmsResponse sendTemplateSms(io.github.smsgateway.v1.SendTemplateSmsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getSendTemplateSmsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns the account balance as the provider reports it, as an exact
     * decimal.
     * </pre>
     */
    public io.github.smsgateway.v1.GetBalanceResponse getBalance(io.github.smsgateway.v1.GetBalanceRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetBalanceMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns the whole stored result of one send by its `request_id`: every
     * provider call with its recipients, bizId and outcome, and the delivery
     * status of every recipient of the accepted calls, one page of calls at a
     * time. Fails with `NOT_FOUND` (reason `SEND_NOT_FOUND`) when the
     * request_id is unknown or expired (ids are kept for 24 hours by default).
     * The outcomes of a finished send are recorded within milliseconds after
     * the send returned; until then a call reads `CALL_OUTCOME_UNKNOWN` with
     * message `in flight`.
     * </pre>
     */
    public io.github.smsgateway.v1.GetSendResponse getSend(io.github.smsgateway.v1.GetSendRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetSendMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Streams delivery reports: first those already stored from the requested
     * start position, then new ones as they arrive, with no gap and no duplicate
     * at the seam between the two.
     * Without `consumer_group` every subscriber receives every matching report.
     * With `consumer_group` the members of the group share the reports: each
     * report goes to one member at a time and must be acknowledged with
     * `AcknowledgeEvents`; a report not acknowledged within the ack deadline, or
     * held by a member that disconnects, is delivered to another member
     * (at-least-once). The group's position survives restarts.
     * A start cursor older than the retained history fails with `OUT_OF_RANGE`
     * (reason `CURSOR_OUT_OF_RANGE`); the oldest available cursor is in
     * `ErrorInfo.metadata["oldest_cursor"]`. A cursor newer than the newest
     * event fails with `OUT_OF_RANGE` (reason `CURSOR_AHEAD`,
     * `metadata["last_cursor"]`), so that a cursor from another store never
     * silently skips events. A subscriber that falls behind retention while
     * streaming gets `OUT_OF_RANGE` too. When the server shuts down, streams end
     * with `UNAVAILABLE` (reason `SHUTTING_DOWN`, with `RetryInfo`): reconnect
     * after the last cursor received.
     * </pre>
     */
    public java.util.Iterator<io.github.smsgateway.v1.StreamDeliveryReportsResponse> streamDeliveryReports(
        io.github.smsgateway.v1.StreamDeliveryReportsRequest request) {
      return io.grpc.stub.ClientCalls.blockingServerStreamingCall(
          getChannel(), getStreamDeliveryReportsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Streams uplinks (inbound messages). Same semantics as
     * `StreamDeliveryReports`.
     * </pre>
     */
    public java.util.Iterator<io.github.smsgateway.v1.StreamUplinksResponse> streamUplinks(
        io.github.smsgateway.v1.StreamUplinksRequest request) {
      return io.grpc.stub.ClientCalls.blockingServerStreamingCall(
          getChannel(), getStreamUplinksMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Acknowledges events received by a consumer-group member, so that they are
     * not delivered again. Acknowledging an unknown or already acknowledged
     * cursor is not an error.
     * </pre>
     */
    public io.github.smsgateway.v1.AcknowledgeEventsResponse acknowledgeEvents(io.github.smsgateway.v1.AcknowledgeEventsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getAcknowledgeEventsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Deletes a consumer group: its position and every event it holds
     * unacknowledged. Members still streaming in the group have their streams
     * ended with `ABORTED` (reason `CONSUMER_GROUP_DELETED`); a member that
     * joins again afterwards starts a new group from its `StreamStart`.
     * Deleting a group that does not exist is not an error: the answer says
     * `deleted = false`. Fails with `PERMISSION_DENIED` when the caller may not
     * read the stream's events.
     * </pre>
     */
    public io.github.smsgateway.v1.DeleteConsumerGroupResponse deleteConsumerGroup(io.github.smsgateway.v1.DeleteConsumerGroupRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeleteConsumerGroupMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns the delivery status of every recipient of one provider call
     * (bizId). Recipients without a report yet are `DELIVERY_STATUS_PENDING`.
     * Fails with `NOT_FOUND` when the bizId is neither in the send log nor in
     * any stored report. A send's bizIds enter the send log within milliseconds
     * after the send returned.
     * </pre>
     */
    public io.github.smsgateway.v1.GetSendStatusResponse getSendStatus(io.github.smsgateway.v1.GetSendStatusRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetSendStatusMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists stored delivery reports, oldest first, one page at a time.
     * </pre>
     */
    public io.github.smsgateway.v1.ListDeliveryReportsResponse listDeliveryReports(io.github.smsgateway.v1.ListDeliveryReportsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListDeliveryReportsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists stored uplinks, oldest first, one page at a time.
     * </pre>
     */
    public io.github.smsgateway.v1.ListUplinksResponse listUplinks(io.github.smsgateway.v1.ListUplinksRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListUplinksMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the phone numbers that opted out of marketing messages for a sign.
     * </pre>
     */
    public io.github.smsgateway.v1.ListSuppressionsResponse listSuppressions(io.github.smsgateway.v1.ListSuppressionsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListSuppressionsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Puts a phone number on the suppression list of a sign. Adding a number
     * that is already suppressed is not an error.
     * </pre>
     */
    public io.github.smsgateway.v1.AddSuppressionResponse addSuppression(io.github.smsgateway.v1.AddSuppressionRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getAddSuppressionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Removes a phone number from the suppression list of a sign. Removing a
     * number that is not suppressed is not an error.
     * </pre>
     */
    public io.github.smsgateway.v1.RemoveSuppressionResponse removeSuppression(io.github.smsgateway.v1.RemoveSuppressionRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRemoveSuppressionMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service SmsGateway.
   * <pre>
   * SmsGateway is the one API in front of the SMS provider's HTTP API v1.0.
   * The gateway owns the provider credentials and access token, validates and
   * normalises every request, splits large recipient lists into provider calls,
   * and turns the provider's delivery reports and inbound messages (uplinks) into
   * durable, resumable streams.
   * Errors follow one table. Bad input gets `INVALID_ARGUMENT` with a
   * `google.rpc.BadRequest` that lists every violation (field, phone number,
   * reason). Every failure carries a `google.rpc.ErrorInfo` with domain
   * `smsgateway`, a `reason` that is the name of an `ErrorReason` value and,
   * where the provider answered, its code in `metadata["provider_code"]`; a
   * `google.rpc.RetryInfo` is attached when retrying later is expected to help.
   * Status details stay small (a few KiB at most) whatever the size of the
   * request.
   * </pre>
   */
  public static final class SmsGatewayFutureStub
      extends io.grpc.stub.AbstractFutureStub<SmsGatewayFutureStub> {
    private SmsGatewayFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected SmsGatewayFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new SmsGatewayFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Sends one plain SMS to one or many phone numbers.
     * The recipients are normalised and de-duplicated, then split into provider
     * calls of at most 1,000 numbers and 1,500 characters each; the calls run
     * with bounded concurrency within the caller's deadline.
     * Returns `OK` only when every provider call was accepted. When any call
     * failed, the RPC fails with the status of that failure and a `SendFailure`
     * in the status details: the request_id, the counts and the first few
     * failed calls (bounded, whatever the number of recipients). `GetSend`
     * with that request_id returns the whole result: every call, its bizId and
     * outcome. A retry with the same `request_id` sends only the calls that did
     * not go out. A call whose outcome is unknown (the request left but no
     * answer came) is reported as `UPSTREAM_OUTCOME_UNKNOWN` and never repeated
     * by the gateway.
     * A caller whose deadline passes (`DEADLINE_EXCEEDED`) or who cancels does
     * not stop the send: the calls already started finish and are recorded.
     * Retry with the same `request_id`, or ask `GetSend`, to learn the outcome.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.github.smsgateway.v1.SendSmsResponse> sendSms(
        io.github.smsgateway.v1.SendSmsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getSendSmsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Sends an SMS built from a template approved by the provider. Same
     * semantics as `SendSms`.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.github.smsgateway.v1.SendTemplateSmsResponse> sendTemplateSms(
        io.github.smsgateway.v1.SendTemplateSmsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getSendTemplateSmsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns the account balance as the provider reports it, as an exact
     * decimal.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.github.smsgateway.v1.GetBalanceResponse> getBalance(
        io.github.smsgateway.v1.GetBalanceRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetBalanceMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns the whole stored result of one send by its `request_id`: every
     * provider call with its recipients, bizId and outcome, and the delivery
     * status of every recipient of the accepted calls, one page of calls at a
     * time. Fails with `NOT_FOUND` (reason `SEND_NOT_FOUND`) when the
     * request_id is unknown or expired (ids are kept for 24 hours by default).
     * The outcomes of a finished send are recorded within milliseconds after
     * the send returned; until then a call reads `CALL_OUTCOME_UNKNOWN` with
     * message `in flight`.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.github.smsgateway.v1.GetSendResponse> getSend(
        io.github.smsgateway.v1.GetSendRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetSendMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Acknowledges events received by a consumer-group member, so that they are
     * not delivered again. Acknowledging an unknown or already acknowledged
     * cursor is not an error.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.github.smsgateway.v1.AcknowledgeEventsResponse> acknowledgeEvents(
        io.github.smsgateway.v1.AcknowledgeEventsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getAcknowledgeEventsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Deletes a consumer group: its position and every event it holds
     * unacknowledged. Members still streaming in the group have their streams
     * ended with `ABORTED` (reason `CONSUMER_GROUP_DELETED`); a member that
     * joins again afterwards starts a new group from its `StreamStart`.
     * Deleting a group that does not exist is not an error: the answer says
     * `deleted = false`. Fails with `PERMISSION_DENIED` when the caller may not
     * read the stream's events.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.github.smsgateway.v1.DeleteConsumerGroupResponse> deleteConsumerGroup(
        io.github.smsgateway.v1.DeleteConsumerGroupRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeleteConsumerGroupMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns the delivery status of every recipient of one provider call
     * (bizId). Recipients without a report yet are `DELIVERY_STATUS_PENDING`.
     * Fails with `NOT_FOUND` when the bizId is neither in the send log nor in
     * any stored report. A send's bizIds enter the send log within milliseconds
     * after the send returned.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.github.smsgateway.v1.GetSendStatusResponse> getSendStatus(
        io.github.smsgateway.v1.GetSendStatusRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetSendStatusMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists stored delivery reports, oldest first, one page at a time.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.github.smsgateway.v1.ListDeliveryReportsResponse> listDeliveryReports(
        io.github.smsgateway.v1.ListDeliveryReportsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListDeliveryReportsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists stored uplinks, oldest first, one page at a time.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.github.smsgateway.v1.ListUplinksResponse> listUplinks(
        io.github.smsgateway.v1.ListUplinksRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListUplinksMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists the phone numbers that opted out of marketing messages for a sign.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.github.smsgateway.v1.ListSuppressionsResponse> listSuppressions(
        io.github.smsgateway.v1.ListSuppressionsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListSuppressionsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Puts a phone number on the suppression list of a sign. Adding a number
     * that is already suppressed is not an error.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.github.smsgateway.v1.AddSuppressionResponse> addSuppression(
        io.github.smsgateway.v1.AddSuppressionRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getAddSuppressionMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Removes a phone number from the suppression list of a sign. Removing a
     * number that is not suppressed is not an error.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.github.smsgateway.v1.RemoveSuppressionResponse> removeSuppression(
        io.github.smsgateway.v1.RemoveSuppressionRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRemoveSuppressionMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_SEND_SMS = 0;
  private static final int METHODID_SEND_TEMPLATE_SMS = 1;
  private static final int METHODID_GET_BALANCE = 2;
  private static final int METHODID_GET_SEND = 3;
  private static final int METHODID_STREAM_DELIVERY_REPORTS = 4;
  private static final int METHODID_STREAM_UPLINKS = 5;
  private static final int METHODID_ACKNOWLEDGE_EVENTS = 6;
  private static final int METHODID_DELETE_CONSUMER_GROUP = 7;
  private static final int METHODID_GET_SEND_STATUS = 8;
  private static final int METHODID_LIST_DELIVERY_REPORTS = 9;
  private static final int METHODID_LIST_UPLINKS = 10;
  private static final int METHODID_LIST_SUPPRESSIONS = 11;
  private static final int METHODID_ADD_SUPPRESSION = 12;
  private static final int METHODID_REMOVE_SUPPRESSION = 13;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final AsyncService serviceImpl;
    private final int methodId;

    MethodHandlers(AsyncService serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_SEND_SMS:
          serviceImpl.sendSms((io.github.smsgateway.v1.SendSmsRequest) request,
              (io.grpc.stub.StreamObserver<io.github.smsgateway.v1.SendSmsResponse>) responseObserver);
          break;
        case METHODID_SEND_TEMPLATE_SMS:
          serviceImpl.sendTemplateSms((io.github.smsgateway.v1.SendTemplateSmsRequest) request,
              (io.grpc.stub.StreamObserver<io.github.smsgateway.v1.SendTemplateSmsResponse>) responseObserver);
          break;
        case METHODID_GET_BALANCE:
          serviceImpl.getBalance((io.github.smsgateway.v1.GetBalanceRequest) request,
              (io.grpc.stub.StreamObserver<io.github.smsgateway.v1.GetBalanceResponse>) responseObserver);
          break;
        case METHODID_GET_SEND:
          serviceImpl.getSend((io.github.smsgateway.v1.GetSendRequest) request,
              (io.grpc.stub.StreamObserver<io.github.smsgateway.v1.GetSendResponse>) responseObserver);
          break;
        case METHODID_STREAM_DELIVERY_REPORTS:
          serviceImpl.streamDeliveryReports((io.github.smsgateway.v1.StreamDeliveryReportsRequest) request,
              (io.grpc.stub.StreamObserver<io.github.smsgateway.v1.StreamDeliveryReportsResponse>) responseObserver);
          break;
        case METHODID_STREAM_UPLINKS:
          serviceImpl.streamUplinks((io.github.smsgateway.v1.StreamUplinksRequest) request,
              (io.grpc.stub.StreamObserver<io.github.smsgateway.v1.StreamUplinksResponse>) responseObserver);
          break;
        case METHODID_ACKNOWLEDGE_EVENTS:
          serviceImpl.acknowledgeEvents((io.github.smsgateway.v1.AcknowledgeEventsRequest) request,
              (io.grpc.stub.StreamObserver<io.github.smsgateway.v1.AcknowledgeEventsResponse>) responseObserver);
          break;
        case METHODID_DELETE_CONSUMER_GROUP:
          serviceImpl.deleteConsumerGroup((io.github.smsgateway.v1.DeleteConsumerGroupRequest) request,
              (io.grpc.stub.StreamObserver<io.github.smsgateway.v1.DeleteConsumerGroupResponse>) responseObserver);
          break;
        case METHODID_GET_SEND_STATUS:
          serviceImpl.getSendStatus((io.github.smsgateway.v1.GetSendStatusRequest) request,
              (io.grpc.stub.StreamObserver<io.github.smsgateway.v1.GetSendStatusResponse>) responseObserver);
          break;
        case METHODID_LIST_DELIVERY_REPORTS:
          serviceImpl.listDeliveryReports((io.github.smsgateway.v1.ListDeliveryReportsRequest) request,
              (io.grpc.stub.StreamObserver<io.github.smsgateway.v1.ListDeliveryReportsResponse>) responseObserver);
          break;
        case METHODID_LIST_UPLINKS:
          serviceImpl.listUplinks((io.github.smsgateway.v1.ListUplinksRequest) request,
              (io.grpc.stub.StreamObserver<io.github.smsgateway.v1.ListUplinksResponse>) responseObserver);
          break;
        case METHODID_LIST_SUPPRESSIONS:
          serviceImpl.listSuppressions((io.github.smsgateway.v1.ListSuppressionsRequest) request,
              (io.grpc.stub.StreamObserver<io.github.smsgateway.v1.ListSuppressionsResponse>) responseObserver);
          break;
        case METHODID_ADD_SUPPRESSION:
          serviceImpl.addSuppression((io.github.smsgateway.v1.AddSuppressionRequest) request,
              (io.grpc.stub.StreamObserver<io.github.smsgateway.v1.AddSuppressionResponse>) responseObserver);
          break;
        case METHODID_REMOVE_SUPPRESSION:
          serviceImpl.removeSuppression((io.github.smsgateway.v1.RemoveSuppressionRequest) request,
              (io.grpc.stub.StreamObserver<io.github.smsgateway.v1.RemoveSuppressionResponse>) responseObserver);
          break;
        default:
          throw new AssertionError();
      }
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public io.grpc.stub.StreamObserver<Req> invoke(
        io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        default:
          throw new AssertionError();
      }
    }
  }

  public static final io.grpc.ServerServiceDefinition bindService(AsyncService service) {
    return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
        .addMethod(
          getSendSmsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.github.smsgateway.v1.SendSmsRequest,
              io.github.smsgateway.v1.SendSmsResponse>(
                service, METHODID_SEND_SMS)))
        .addMethod(
          getSendTemplateSmsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.github.smsgateway.v1.SendTemplateSmsRequest,
              io.github.smsgateway.v1.SendTemplateSmsResponse>(
                service, METHODID_SEND_TEMPLATE_SMS)))
        .addMethod(
          getGetBalanceMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.github.smsgateway.v1.GetBalanceRequest,
              io.github.smsgateway.v1.GetBalanceResponse>(
                service, METHODID_GET_BALANCE)))
        .addMethod(
          getGetSendMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.github.smsgateway.v1.GetSendRequest,
              io.github.smsgateway.v1.GetSendResponse>(
                service, METHODID_GET_SEND)))
        .addMethod(
          getStreamDeliveryReportsMethod(),
          io.grpc.stub.ServerCalls.asyncServerStreamingCall(
            new MethodHandlers<
              io.github.smsgateway.v1.StreamDeliveryReportsRequest,
              io.github.smsgateway.v1.StreamDeliveryReportsResponse>(
                service, METHODID_STREAM_DELIVERY_REPORTS)))
        .addMethod(
          getStreamUplinksMethod(),
          io.grpc.stub.ServerCalls.asyncServerStreamingCall(
            new MethodHandlers<
              io.github.smsgateway.v1.StreamUplinksRequest,
              io.github.smsgateway.v1.StreamUplinksResponse>(
                service, METHODID_STREAM_UPLINKS)))
        .addMethod(
          getAcknowledgeEventsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.github.smsgateway.v1.AcknowledgeEventsRequest,
              io.github.smsgateway.v1.AcknowledgeEventsResponse>(
                service, METHODID_ACKNOWLEDGE_EVENTS)))
        .addMethod(
          getDeleteConsumerGroupMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.github.smsgateway.v1.DeleteConsumerGroupRequest,
              io.github.smsgateway.v1.DeleteConsumerGroupResponse>(
                service, METHODID_DELETE_CONSUMER_GROUP)))
        .addMethod(
          getGetSendStatusMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.github.smsgateway.v1.GetSendStatusRequest,
              io.github.smsgateway.v1.GetSendStatusResponse>(
                service, METHODID_GET_SEND_STATUS)))
        .addMethod(
          getListDeliveryReportsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.github.smsgateway.v1.ListDeliveryReportsRequest,
              io.github.smsgateway.v1.ListDeliveryReportsResponse>(
                service, METHODID_LIST_DELIVERY_REPORTS)))
        .addMethod(
          getListUplinksMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.github.smsgateway.v1.ListUplinksRequest,
              io.github.smsgateway.v1.ListUplinksResponse>(
                service, METHODID_LIST_UPLINKS)))
        .addMethod(
          getListSuppressionsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.github.smsgateway.v1.ListSuppressionsRequest,
              io.github.smsgateway.v1.ListSuppressionsResponse>(
                service, METHODID_LIST_SUPPRESSIONS)))
        .addMethod(
          getAddSuppressionMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.github.smsgateway.v1.AddSuppressionRequest,
              io.github.smsgateway.v1.AddSuppressionResponse>(
                service, METHODID_ADD_SUPPRESSION)))
        .addMethod(
          getRemoveSuppressionMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.github.smsgateway.v1.RemoveSuppressionRequest,
              io.github.smsgateway.v1.RemoveSuppressionResponse>(
                service, METHODID_REMOVE_SUPPRESSION)))
        .build();
  }

  private static abstract class SmsGatewayBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    SmsGatewayBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return io.github.smsgateway.v1.SmsGatewayProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("SmsGateway");
    }
  }

  private static final class SmsGatewayFileDescriptorSupplier
      extends SmsGatewayBaseDescriptorSupplier {
    SmsGatewayFileDescriptorSupplier() {}
  }

  private static final class SmsGatewayMethodDescriptorSupplier
      extends SmsGatewayBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    SmsGatewayMethodDescriptorSupplier(java.lang.String methodName) {
      this.methodName = methodName;
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.MethodDescriptor getMethodDescriptor() {
      return getServiceDescriptor().findMethodByName(methodName);
    }
  }

  private static volatile io.grpc.ServiceDescriptor serviceDescriptor;

  public static io.grpc.ServiceDescriptor getServiceDescriptor() {
    io.grpc.ServiceDescriptor result = serviceDescriptor;
    if (result == null) {
      synchronized (SmsGatewayGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new SmsGatewayFileDescriptorSupplier())
              .addMethod(getSendSmsMethod())
              .addMethod(getSendTemplateSmsMethod())
              .addMethod(getGetBalanceMethod())
              .addMethod(getGetSendMethod())
              .addMethod(getStreamDeliveryReportsMethod())
              .addMethod(getStreamUplinksMethod())
              .addMethod(getAcknowledgeEventsMethod())
              .addMethod(getDeleteConsumerGroupMethod())
              .addMethod(getGetSendStatusMethod())
              .addMethod(getListDeliveryReportsMethod())
              .addMethod(getListUplinksMethod())
              .addMethod(getListSuppressionsMethod())
              .addMethod(getAddSuppressionMethod())
              .addMethod(getRemoveSuppressionMethod())
              .build();
        }
      }
    }
    return result;
  }
}
