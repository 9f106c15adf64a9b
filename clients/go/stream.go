package smsgateway

import (
	"context"
	"errors"
	"io"
	"iter"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	pb "github.com/smsgateway/smsgateway/clients/go/gen/smsgateway/v1"
)

// ReconnectPolicy says how a stream reconnects after UNAVAILABLE (a dropped
// connection, a server shutting down): equal-jitter exponential backoff, at least the
// server's RetryInfo, and at most MaxAttempts connections in a row that fail before
// returning an event.
type ReconnectPolicy struct {
	MaxAttempts    int // 1: never reconnect
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	Multiplier     float64
}

// DefaultReconnectPolicy rides out a server restart of several seconds.
var DefaultReconnectPolicy = ReconnectPolicy{
	MaxAttempts: 8, InitialBackoff: 250 * time.Millisecond, MaxBackoff: 5 * time.Second, Multiplier: 2,
}

func (p ReconnectPolicy) backoff(attempt int) time.Duration {
	ceiling := float64(p.InitialBackoff)
	for i := 1; i < attempt; i++ {
		ceiling *= p.Multiplier
	}
	ceiling = min(ceiling, float64(p.MaxBackoff))
	return time.Duration(ceiling/2 + rand.Float64()*ceiling/2)
}

// Stream is a resuming stream of events (*pb.DeliveryReport or *pb.Uplink).
//
// After UNAVAILABLE it reconnects and resumes right after the last event Recv
// returned, so the caller sees no gap and no duplicate. In a consumer group it resumes
// from the group's position instead: unacknowledged events come again (at-least-once).
// Close it when done; it is not safe for concurrent use.
type Stream[E interface{ GetCursor() int64 }] struct {
	ctx     context.Context
	cancel  context.CancelFunc
	policy  ReconnectPolicy
	grouped bool
	open    func(ctx context.Context, after *int64) (func() (E, error), error)

	recv       func() (E, error)
	connCancel context.CancelFunc
	last       *int64
	failures   int
}

func newStream[E interface{ GetCursor() int64 }](ctx context.Context, policy ReconnectPolicy, grouped bool,
	open func(ctx context.Context, after *int64) (func() (E, error), error)) *Stream[E] {
	ctx, cancel := context.WithCancel(ctx)
	return &Stream[E]{ctx: ctx, cancel: cancel, policy: policy, grouped: grouped, open: open}
}

// Recv returns the next event; io.EOF when the server ended the stream, an *Error
// when it failed (after the reconnects the policy allows).
func (s *Stream[E]) Recv() (E, error) {
	var zero E
	for {
		if s.ctx.Err() != nil {
			return zero, wrap(s.ctx.Err(), "")
		}
		if s.recv == nil {
			connCtx, connCancel := context.WithCancel(s.ctx)
			after := s.last
			if s.grouped {
				after = nil
			}
			recv, err := s.open(connCtx, after)
			if err != nil {
				connCancel()
				if err := s.wait(err); err != nil {
					return zero, err
				}
				continue
			}
			s.recv, s.connCancel = recv, connCancel
		}
		event, err := s.recv()
		if err == nil {
			s.failures = 0
			cursor := event.GetCursor()
			s.last = &cursor
			return event, nil
		}
		s.connCancel()
		s.recv = nil
		if errors.Is(err, io.EOF) {
			return zero, io.EOF
		}
		if err := s.wait(err); err != nil {
			return zero, err
		}
	}
}

// wait sleeps before the next connection, or returns the error that ends the stream.
func (s *Stream[E]) wait(err error) error {
	failure := AsError(wrap(err, ""))
	s.failures++
	if failure.Code != codes.Unavailable || s.failures >= s.policy.MaxAttempts || s.ctx.Err() != nil {
		return failure
	}
	delay := max(s.policy.backoff(s.failures), failure.RetryDelay)
	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-s.ctx.Done():
		return wrap(s.ctx.Err(), "")
	}
}

// All iterates over the events until the stream ends; the last pair holds the error
// that ended it (none after io.EOF). Breaking out of the loop closes the stream.
func (s *Stream[E]) All() iter.Seq2[E, error] {
	return func(yield func(E, error) bool) {
		defer s.Close()
		for {
			event, err := s.Recv()
			if errors.Is(err, io.EOF) {
				return
			}
			if !yield(event, err) || err != nil {
				return
			}
		}
	}
}

// LastCursor is the cursor of the last event returned (resume after it later), or 0.
func (s *Stream[E]) LastCursor() int64 {
	if s.last == nil {
		return 0
	}
	return *s.last
}

// Close ends the stream's call now.
func (s *Stream[E]) Close() {
	s.cancel()
	if s.connCancel != nil {
		s.connCancel()
	}
}

func resumeAfter(start *pb.StreamStart, after *int64) *pb.StreamStart {
	if after == nil {
		return start
	}
	return &pb.StreamStart{Kind: &pb.StreamStart_AfterCursor{AfterCursor: *after}}
}

// DefaultEventsPerResponse is the max_events_per_response the stream helpers ask for
// when the request leaves it 0: several events per response, handed out one by one.
// Set it to 1 in the request for one event per response.
const DefaultEventsPerResponse = 100

// oneByOne turns a stream of responses, each carrying one or more events, into one
// event per call. Events already received are all returned before the stream's error.
func oneByOne[R any, E any](recv func() (R, error), events func(R) []E) func() (E, error) {
	var pending []E
	return func() (E, error) {
		for len(pending) == 0 {
			resp, err := recv()
			if err != nil {
				var zero E
				return zero, err
			}
			pending = events(resp)
		}
		event := pending[0]
		pending = pending[1:]
		return event, nil
	}
}

// StreamDeliveryReports subscribes to delivery reports (see the proto for the start
// position, filters and consumer groups) and resumes after drops. Unless the request
// sets MaxEventsPerResponse, it asks for DefaultEventsPerResponse per response; Recv
// returns the events one by one either way.
func (c *Client) StreamDeliveryReports(ctx context.Context, req *pb.StreamDeliveryReportsRequest) *Stream[*pb.DeliveryReport] {
	req = proto.Clone(req).(*pb.StreamDeliveryReportsRequest)
	if req.MaxEventsPerResponse == 0 {
		req.MaxEventsPerResponse = DefaultEventsPerResponse
	}
	return newStream(ctx, c.reconnect, req.GetConsumerGroup() != nil,
		func(ctx context.Context, after *int64) (func() (*pb.DeliveryReport, error), error) {
			attempt := proto.Clone(req).(*pb.StreamDeliveryReportsRequest)
			attempt.Start = resumeAfter(req.GetStart(), after)
			stream, err := c.raw.StreamDeliveryReports(ctx, attempt)
			if err != nil {
				return nil, err
			}
			return oneByOne(stream.Recv, func(r *pb.StreamDeliveryReportsResponse) []*pb.DeliveryReport {
				if len(r.GetReports()) > 0 {
					return r.GetReports()
				}
				if r.GetReport() != nil {
					return []*pb.DeliveryReport{r.GetReport()}
				}
				return nil
			}), nil
		})
}

// StreamUplinks subscribes to uplinks; as StreamDeliveryReports.
func (c *Client) StreamUplinks(ctx context.Context, req *pb.StreamUplinksRequest) *Stream[*pb.Uplink] {
	req = proto.Clone(req).(*pb.StreamUplinksRequest)
	if req.MaxEventsPerResponse == 0 {
		req.MaxEventsPerResponse = DefaultEventsPerResponse
	}
	return newStream(ctx, c.reconnect, req.GetConsumerGroup() != nil,
		func(ctx context.Context, after *int64) (func() (*pb.Uplink, error), error) {
			attempt := proto.Clone(req).(*pb.StreamUplinksRequest)
			attempt.Start = resumeAfter(req.GetStart(), after)
			stream, err := c.raw.StreamUplinks(ctx, attempt)
			if err != nil {
				return nil, err
			}
			return oneByOne(stream.Recv, func(r *pb.StreamUplinksResponse) []*pb.Uplink {
				if len(r.GetUplinks()) > 0 {
					return r.GetUplinks()
				}
				if r.GetUplink() != nil {
					return []*pb.Uplink{r.GetUplink()}
				}
				return nil
			}), nil
		})
}
