// Package smsgateway is the Go client of the smsgateway.v1.SmsGateway gRPC API.
//
// It is a small layer over the generated stubs (package smsgatewayv1 under gen/):
//   - one channel configured from service_config.json (deadlines per method, retries of
//     UNAVAILABLE for the methods that are safe to repeat, keepalive);
//   - sends get their request_id before the first attempt, so every retry (gRPC's own,
//     or yours with the same request) is the same send, and every error names it;
//   - failures are *Error values with the google.rpc details decoded (BadRequest,
//     ErrorInfo, RetryInfo, QuotaFailure) and the SendFailure of a partial send;
//   - streams resume after the last cursor they returned when the connection drops;
//   - an API key (authorization: Bearer) and TLS when asked for.
package smsgateway

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/big"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	pb "github.com/smsgateway/smsgateway/clients/go/gen/smsgateway/v1"
)

// DefaultTarget is where `make run` serves.
const DefaultTarget = "localhost:50051"

// maxMessageBytes: a send answers with every recipient; 100,000 exceed gRPC's 4 MiB default.
const maxMessageBytes = 64 << 20

// Client is a client of one gateway. It is safe for concurrent use; share one.
type Client struct {
	conn      *grpc.ClientConn
	raw       pb.SmsGatewayClient
	reconnect ReconnectPolicy
}

type options struct {
	apiKey    string
	tls       *tls.Config
	caFile    string
	reconnect ReconnectPolicy
	dial      []grpc.DialOption
}

// Option configures New.
type Option func(*options)

// WithAPIKey sends `authorization: Bearer <key>` with every call.
func WithAPIKey(key string) Option { return func(o *options) { o.apiKey = key } }

// WithTLS connects with TLS (nil: the system's root CAs). Without it the channel is
// plaintext, as inside a cluster.
func WithTLS(config *tls.Config) Option {
	return func(o *options) {
		if config == nil {
			config = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		o.tls = config
	}
}

// WithCAFile connects with TLS, trusting the CA certificates in this PEM file.
func WithCAFile(path string) Option { return func(o *options) { o.caFile = path } }

// WithStreamReconnect sets how streams reconnect after UNAVAILABLE.
func WithStreamReconnect(policy ReconnectPolicy) Option {
	return func(o *options) { o.reconnect = policy }
}

// WithDialOptions adds gRPC dial options (interceptors, a custom dialer, ...).
func WithDialOptions(dial ...grpc.DialOption) Option {
	return func(o *options) { o.dial = append(o.dial, dial...) }
}

// New makes a client of the gateway at target (host:port). It does not connect yet:
// the first call does.
func New(target string, opts ...Option) (*Client, error) {
	o := options{reconnect: DefaultReconnectPolicy}
	for _, opt := range opts {
		opt(&o)
	}
	config, err := loadServiceConfig()
	if err != nil {
		return nil, err
	}
	transport := insecure.NewCredentials()
	if o.caFile != "" {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, fmt.Errorf("smsgateway: CA file: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("smsgateway: CA file %s holds no PEM certificate", o.caFile)
		}
		if o.tls == nil {
			o.tls = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		o.tls = o.tls.Clone()
		o.tls.RootCAs = roots
	}
	if o.tls != nil {
		transport = credentials.NewTLS(o.tls)
	}
	dial := []grpc.DialOption{
		grpc.WithTransportCredentials(transport),
		grpc.WithDefaultServiceConfig(config.serviceConfig),
		grpc.WithKeepaliveParams(config.keepalive),
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(maxMessageBytes), grpc.MaxCallSendMsgSize(maxMessageBytes),
		),
	}
	if o.apiKey != "" {
		dial = append(dial,
			grpc.WithChainUnaryInterceptor(apiKeyUnary(o.apiKey)),
			grpc.WithChainStreamInterceptor(apiKeyStream(o.apiKey)),
		)
	}
	conn, err := grpc.NewClient(target, append(dial, o.dial...)...)
	if err != nil {
		return nil, fmt.Errorf("smsgateway: %w", err)
	}
	return &Client{conn: conn, raw: pb.NewSmsGatewayClient(conn), reconnect: o.reconnect}, nil
}

// Close closes the channel; open streams end.
func (c *Client) Close() error { return c.conn.Close() }

// Raw is the generated stub on the same channel, for what this layer does not wrap.
func (c *Client) Raw() pb.SmsGatewayClient { return c.raw }

func withKey(ctx context.Context, key string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
}

func apiKeyUnary(key string) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
		invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return invoker(withKey(ctx, key), method, req, reply, cc, opts...)
	}
}

func apiKeyStream(key string) grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string,
		streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		return streamer(withKey(ctx, key), desc, cc, method, opts...)
	}
}

// NewRequestID returns a random UUID4, the request_id of one logical send.
func NewRequestID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// SendSms sends one plain SMS. Without a request_id the request gets a new one first
// (req is not modified), so gRPC's retries and yours with the same request are one send.
// The answer and every error carry the request_id (Error.RequestID).
func (c *Client) SendSms(ctx context.Context, req *pb.SendSmsRequest, opts ...grpc.CallOption) (*pb.SendSmsResponse, error) {
	if req.GetRequestId() == "" {
		req = proto.Clone(req).(*pb.SendSmsRequest)
		req.RequestId = NewRequestID()
	}
	resp, err := c.raw.SendSms(ctx, req, opts...)
	return resp, wrap(err, req.GetRequestId())
}

// SendTemplateSms sends an SMS from an approved template; as SendSms.
func (c *Client) SendTemplateSms(ctx context.Context, req *pb.SendTemplateSmsRequest, opts ...grpc.CallOption) (*pb.SendTemplateSmsResponse, error) {
	if req.GetRequestId() == "" {
		req = proto.Clone(req).(*pb.SendTemplateSmsRequest)
		req.RequestId = NewRequestID()
	}
	resp, err := c.raw.SendTemplateSms(ctx, req, opts...)
	return resp, wrap(err, req.GetRequestId())
}

// SendResult is the whole stored result of one send (every page of GetSend).
type SendResult struct {
	// Header is the first page without its calls: request_id, totals, content.
	Header *pb.GetSendResponse
	// Calls holds every provider call, in order, with its recipients' delivery status.
	Calls []*pb.SendCallStatus
}

// GetSend returns the whole stored result of the send with this request_id, reading
// every page (of at most pageSize calls; 0: the server's default).
func (c *Client) GetSend(ctx context.Context, requestID string, pageSize int32) (*SendResult, error) {
	result := &SendResult{}
	token := ""
	for {
		page, err := c.raw.GetSend(ctx, &pb.GetSendRequest{RequestId: requestID, PageSize: pageSize, PageToken: token})
		if err != nil {
			return nil, wrap(err, requestID)
		}
		result.Calls = append(result.Calls, page.GetCalls()...)
		if result.Header == nil {
			header := proto.Clone(page).(*pb.GetSendResponse)
			header.Calls, header.NextPageToken = nil, ""
			result.Header = header
		}
		if token = page.GetNextPageToken(); token == "" {
			return result, nil
		}
	}
}

// GetSendStatus returns the delivery status of every recipient of one provider call.
func (c *Client) GetSendStatus(ctx context.Context, bizID string) (*pb.GetSendStatusResponse, error) {
	resp, err := c.raw.GetSendStatus(ctx, &pb.GetSendStatusRequest{BizId: bizID})
	return resp, wrap(err, "")
}

// Balance is the account balance, exact.
type Balance struct {
	// Text is the decimal as the provider reported it, for example "100.00".
	Text string
	// Amount is the same value as an exact rational number (never a float).
	Amount *big.Rat
	// FetchTime is when the gateway read it from the provider.
	FetchTime time.Time
}

// GetBalance returns the account balance as an exact decimal.
func (c *Client) GetBalance(ctx context.Context) (*Balance, error) {
	resp, err := c.raw.GetBalance(ctx, &pb.GetBalanceRequest{})
	if err != nil {
		return nil, wrap(err, "")
	}
	amount, ok := new(big.Rat).SetString(resp.GetBalance())
	if !ok {
		return nil, fmt.Errorf("smsgateway: balance is not a decimal: %q", resp.GetBalance())
	}
	return &Balance{Text: resp.GetBalance(), Amount: amount, FetchTime: resp.GetFetchTime().AsTime()}, nil
}

// Acknowledge acknowledges events a consumer-group member received; it returns how
// many were pending. Lists over 10,000 cursors are sent in several calls.
func (c *Client) Acknowledge(ctx context.Context, stream pb.EventStream, group string, cursors []int64) (int32, error) {
	var acknowledged int32
	for len(cursors) > 0 {
		n := min(len(cursors), 10_000)
		resp, err := c.raw.AcknowledgeEvents(ctx, &pb.AcknowledgeEventsRequest{
			Stream: stream, ConsumerGroup: group, Cursors: cursors[:n],
		})
		if err != nil {
			return acknowledged, wrap(err, "")
		}
		acknowledged += resp.GetAcknowledgedCount()
		cursors = cursors[n:]
	}
	return acknowledged, nil
}

// DeleteConsumerGroup deletes a consumer group; false when there was none.
func (c *Client) DeleteConsumerGroup(ctx context.Context, stream pb.EventStream, group string) (bool, error) {
	resp, err := c.raw.DeleteConsumerGroup(ctx, &pb.DeleteConsumerGroupRequest{Stream: stream, ConsumerGroup: group})
	if err != nil {
		return false, wrap(err, "")
	}
	return resp.GetDeleted(), nil
}

// ListDeliveryReports returns every stored report matching filter, oldest first,
// reading page after page (at most limit reports; 0: all).
func (c *Client) ListDeliveryReports(ctx context.Context, filter *pb.DeliveryReportFilter, limit int) ([]*pb.DeliveryReport, error) {
	var reports []*pb.DeliveryReport
	token := ""
	for {
		page, err := c.raw.ListDeliveryReports(ctx, &pb.ListDeliveryReportsRequest{Filter: filter, PageSize: 1000, PageToken: token})
		if err != nil {
			return reports, wrap(err, "")
		}
		reports = append(reports, page.GetReports()...)
		if limit > 0 && len(reports) >= limit {
			return reports[:limit], nil
		}
		if token = page.GetNextPageToken(); token == "" {
			return reports, nil
		}
	}
}
