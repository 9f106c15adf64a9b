package smsgateway

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/smsgateway/smsgateway/clients/go/gen/smsgateway/v1"
)

// Domain is the ErrorInfo domain of the gateway's own errors.
const Domain = "smsgateway"

// FieldViolation is one problem with one request field (a google.rpc.BadRequest entry).
type FieldViolation struct {
	Field       string // the field path, e.g. "phone_numbers[3]"
	Description string // why the value was refused
}

// QuotaViolation is one exhausted quota (a google.rpc.QuotaFailure entry).
type QuotaViolation struct {
	Subject     string
	Description string
}

// Error is a failed call with its google.rpc details decoded. Every Client method
// returns one (use AsError or errors.As); it also satisfies status.FromError.
type Error struct {
	Code    codes.Code
	Message string
	// Reason is ErrorInfo.reason: the name of a pb.ErrorReason value ("" without one).
	Reason   string
	Domain   string
	Metadata map[string]string
	// Violations lists the BadRequest field violations of INVALID_ARGUMENT.
	Violations []FieldViolation
	// RetryDelay is RetryInfo.retry_delay: how long to wait before retrying (0: none given).
	RetryDelay time.Duration
	// QuotaViolations lists the QuotaFailure entries of RESOURCE_EXHAUSTED.
	QuotaViolations []QuotaViolation
	// SendFailure is set for a send that was not accepted whole: counts and the first
	// failed calls. Client.GetSend(RequestID) has every call.
	SendFailure *pb.SendFailure
	// RequestID is the request_id of the send this error belongs to ("" for other calls).
	// It is set for every outcome, DEADLINE_EXCEEDED included: retry with it, or ask GetSend.
	RequestID string

	status *status.Status
}

// AsError returns err as an *Error, or nil when it is not one.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// Is reports whether the error has this reason.
func (e *Error) Is(target error) bool {
	other, ok := target.(*Error)
	return ok && other.Code == e.Code && (other.Reason == "" || other.Reason == e.Reason)
}

// HasReason reports whether ErrorInfo.reason is this ErrorReason.
func (e *Error) HasReason(reason pb.ErrorReason) bool { return e.Reason == reason.String() }

// GRPCStatus lets status.FromError and status.Code see the original status.
func (e *Error) GRPCStatus() *status.Status { return e.status }

// Retryable reports whether the same call may succeed later (UNAVAILABLE).
func (e *Error) Retryable() bool { return e.Code == codes.Unavailable }

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", e.Code, e.Message)
	if e.Reason != "" && e.Reason != strings.ToUpper(e.Code.String()) {
		fmt.Fprintf(&b, " [%s]", e.Reason)
	}
	for _, v := range e.Violations {
		fmt.Fprintf(&b, "; %s: %s", v.Field, v.Description)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request_id %s)", e.RequestID)
	}
	return b.String()
}

// MetadataKeys returns the ErrorInfo metadata keys, sorted.
func (e *Error) MetadataKeys() []string {
	keys := make([]string, 0, len(e.Metadata))
	for k := range e.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// wrap turns a gRPC error into an *Error (nil stays nil).
func wrap(err error, requestID string) error {
	if err == nil {
		return nil
	}
	if e := AsError(err); e != nil {
		if e.RequestID == "" {
			e.RequestID = requestID
		}
		return e
	}
	st, ok := status.FromError(err)
	if !ok {
		st = status.FromContextError(err)
	}
	e := &Error{Code: st.Code(), Message: st.Message(), Metadata: map[string]string{}, RequestID: requestID, status: st}
	for _, detail := range st.Details() {
		switch d := detail.(type) {
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				e.Violations = append(e.Violations, FieldViolation{v.GetField(), v.GetDescription()})
			}
		case *errdetails.ErrorInfo:
			e.Reason, e.Domain = d.GetReason(), d.GetDomain()
			for k, v := range d.GetMetadata() {
				e.Metadata[k] = v
			}
		case *errdetails.RetryInfo:
			e.RetryDelay = d.GetRetryDelay().AsDuration()
		case *errdetails.QuotaFailure:
			for _, v := range d.GetViolations() {
				e.QuotaViolations = append(e.QuotaViolations, QuotaViolation{v.GetSubject(), v.GetDescription()})
			}
		case *pb.SendFailure:
			e.SendFailure = d
		}
	}
	if e.RequestID == "" {
		e.RequestID = e.Metadata["request_id"]
	}
	return e
}
