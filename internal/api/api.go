// Package api is gantry's single AWS front door: it routes each request to a service's operation by
// protocol, and answers in that protocol's envelope, errors included.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
)

// Protocol is how a service's requests and answers are encoded.
type Protocol int

// Protocols.
const (
	JSON     Protocol = iota + 1 // awsJson1_0 / awsJson1_1: X-Amz-Target, JSON bodies
	Query                        // form-encoded Action=..., XML answers (ELBv2, IAM, STS)
	EC2Query                     // as Query, with EC2's answer and error shapes
)

// Request is one decoded call, transport-free enough for a service's handler.
type Request struct {
	Service   string // the service's signing name, e.g. "ecs"
	Operation string // e.g. "CreateCluster"
	Scope     model.Scope
	AccessKey string
	RequestID string
	// Body is the raw JSON body (JSON protocol).
	Body []byte
	// Form holds the parameters (query protocols).
	Form   url.Values
	Header http.Header
	// Caller is the verified identity behind the request when IAM is enforced (zero otherwise).
	Caller model.Principal
	// payload is the raw body, for SigV4 verification.
	payload []byte
}

// Operation serves one AWS operation. The value it returns is encoded as the answer: marshalled
// as JSON for JSON services, as XML inside the Result element for query services.
type Operation func(ctx context.Context, r *Request) (any, error)

// Service is one AWS service on the front door.
type Service struct {
	// SigningName is the SigV4 service name (ecs, elasticloadbalancing, ec2, iam, sts ...).
	SigningName string
	// TargetPrefix is the X-Amz-Target prefix for JSON services (AmazonEC2ContainerServiceV20141113).
	TargetPrefix string
	Protocol     Protocol
	// XMLNamespace is the xmlns of query answers.
	XMLNamespace string
	// APIVersion is the Version= a query client sends; it routes unsigned query requests.
	APIVersion string
	Operations map[string]Operation
	// ErrorCode names an error kind in this service's vocabulary; nil uses DefaultErrorCode.
	ErrorCode func(apierr.Kind) string
}

// DefaultMaxBody bounds request bodies; ECS's largest documents are far below it.
const DefaultMaxBody = 16 << 20

// Server is the front door: an http.Handler for every registered service plus extra routes.
type Server struct {
	logger  *slog.Logger
	maxBody int64
	// opTimeout bounds one AWS API request (SetOpTimeout).
	opTimeout time.Duration
	byTarget  map[string]*Service
	byName    map[string]*Service
	byVer     map[string]*Service
	mux       *http.ServeMux
	// Account is the account every caller acts as until IAM names another.
	Account string
	// auth, when set, verifies signatures and decides requests (sigv4_verify.go, auth.go).
	auth Authenticator
	now  func() time.Time
}

// New returns a front door serving services.
func New(logger *slog.Logger, services ...*Service) *Server {
	s := &Server{
		logger:    logger.With(logx.KeyComponent, "api"),
		maxBody:   DefaultMaxBody,
		opTimeout: DefaultOpTimeout,
		byTarget:  map[string]*Service{},
		byName:    map[string]*Service{},
		byVer:     map[string]*Service{},
		mux:       http.NewServeMux(),
		Account:   model.DefaultAccount,
	}
	for _, svc := range services {
		s.Register(svc)
	}
	return s
}

// Register adds a service. Call it before serving.
func (s *Server) Register(svc *Service) {
	if svc.TargetPrefix != "" {
		s.byTarget[svc.TargetPrefix] = svc
	}
	s.byName[svc.SigningName] = svc
	if svc.APIVersion != "" {
		s.byVer[svc.APIVersion] = svc
	}
}

// Handle routes a path pattern (for example "/_gantry/health" or "/v2/") to h instead of the
// AWS protocols.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// SetMaxBody changes the request body limit.
func (s *Server) SetMaxBody(n int64) { s.maxBody = n }

// DefaultOpTimeout bounds how long one AWS API request may take: far beyond any operation's
// work, short of the aws CLI's 60 s read timeout.
const DefaultOpTimeout = 20 * time.Second

// SetOpTimeout changes how long one AWS API request may take before it is answered
// ServiceUnavailable (503), which the SDKs retry; 0 means no bound.
func (s *Server) SetOpTimeout(d time.Duration) { s.opTimeout = d }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, pattern := s.mux.Handler(r); pattern != "" {
		h.ServeHTTP(w, r)
		return
	}
	reqID := newRequestID()
	w.Header().Set("x-amzn-RequestId", reqID)
	scope := parseCredentialScope(r)
	req := &Request{
		RequestID: reqID,
		AccessKey: scope.AccessKey,
		Scope:     model.Scope{Account: s.Account, Region: scope.Region},
		Header:    r.Header,
	}
	if req.Scope.Region == "" {
		req.Scope.Region = model.DefaultRegion
	}
	svc, enc := s.route(w, r, req, scope.Service)
	if enc == nil {
		return
	}
	log := s.logger.With(logx.KeyRequestID, reqID, logx.KeyService, req.Service, logx.KeyOperation, req.Operation)
	ctx := logx.WithLogger(r.Context(), log)
	// A store that does not answer (an etcd down or cut off) must not hold the caller forever.
	if s.opTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.opTimeout)
		defer cancel()
	}
	if s.auth != nil {
		if err := s.authenticate(ctx, r, svc, req); err != nil {
			err = s.outOfTime(ctx, r, err)
			var fail *authFailure
			if errors.As(err, &fail) {
				writeAuthError(w, req, svc, enc, fail)
			} else {
				enc.writeError(w, req, svc, err)
				log.Error("authentication failed", logx.KeyError, err)
			}
			return
		}
	}
	out, err := s.call(ctx, svc, req)
	if err != nil {
		err = s.outOfTime(ctx, r, err)
	}
	if err == nil {
		err = enc.writeResult(w, req, svc, out)
	} else {
		enc.writeError(w, req, svc, err)
	}
	if err != nil && apierr.KindOf(err) == apierr.Internal && !errors.Is(err, errPanic) {
		log.Error("request failed", logx.KeyError, err)
	}
}

// outOfTime answers Unavailable for a request that failed because it ran out of its time
// (not because its caller went away), whatever its error says; it returns other errors as
// they are.
func (s *Server) outOfTime(ctx context.Context, r *http.Request, err error) error {
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) || r.Context().Err() != nil {
		return err
	}
	logx.From(ctx).Warn("request ran out of time", "timeout", s.opTimeout, logx.KeyError, err)
	return apierr.Errorf(apierr.Unavailable, "The service is unavailable: the request did not complete in %s. Retry it.", s.opTimeout)
}

// errPanic marks the error of an operation that panicked; call has logged it with its stack.
var errPanic = errors.New("operation panicked")

// call runs the operation, turning a panic into an internal error so the server stays up.
func (s *Server) call(ctx context.Context, svc *Service, req *Request) (out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			logx.From(ctx).Error("operation panicked", "panic", p, "stack", string(debug.Stack()))
			out, err = nil, fmt.Errorf("%s: %w: %w", req.Operation, errPanic, apierr.Internal)
		}
	}()
	op := svc.Operations[req.Operation]
	return op(ctx, req)
}

// route finds the service and operation, reads the body, and returns the encoder to answer
// with; it answers the error itself and returns a nil encoder when the request cannot be routed.
// The body limit is checked first, so an oversized request is refused whatever else is wrong.
func (s *Server) route(w http.ResponseWriter, r *http.Request, req *Request, signingName string) (*Service, encoder) {
	target := r.Header.Get("X-Amz-Target")
	body, err := readBody(w, r, s.maxBody)
	req.payload = body
	if target != "" {
		enc := jsonEncoder{contentType: jsonContentType(r)}
		prefix, op, _ := strings.Cut(target, ".")
		svc := s.byTarget[prefix]
		if svc != nil {
			req.Service, req.Operation, req.Body = svc.SigningName, op, body
		}
		switch {
		case err != nil:
			enc.writeError(w, req, svc, err)
		case svc == nil:
			enc.writeError(w, req, nil, apierr.Errorf(apierr.UnknownOperation, "Unrecognized service target %q", prefix))
		case svc.Operations[op] == nil:
			enc.writeError(w, req, svc, apierr.Errorf(apierr.UnknownOperation, "Unknown operation %q", op))
		default:
			return svc, enc
		}
		return nil, nil
	}
	var form url.Values
	if err == nil {
		form, err = queryForm(r, body)
	}
	svc := s.byName[signingName]
	if svc == nil || svc.Protocol == JSON {
		svc = s.byVer[form.Get("Version")]
	}
	var enc encoder = queryEncoder{}
	if svc != nil && svc.Protocol == EC2Query {
		enc = ec2Encoder{}
	}
	if svc != nil {
		req.Service, req.Operation, req.Form = svc.SigningName, form.Get("Action"), form
	}
	switch {
	case err != nil:
		enc.writeError(w, req, svc, err)
	case svc == nil:
		enc.writeError(w, req, nil, apierr.New(apierr.UnknownOperation, "The requested service or action is not valid for this endpoint"))
	case req.Operation == "":
		enc.writeError(w, req, svc, apierr.New(apierr.UnknownOperation, "The request must contain the parameter Action"))
	case svc.Operations[req.Operation] == nil:
		enc.writeError(w, req, svc, apierr.Errorf(apierr.UnknownOperation, "The action %s is not valid for this web service.", req.Operation))
	default:
		return svc, enc
	}
	return nil, nil
}

// readBody reads at most limit bytes. A declared Content-Length above the limit is refused
// before a byte is read; an undeclared one stops at the limit, so memory stays bounded either way.
// The connection closes after the answer, so the rest of the body is never read.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		w.Header().Set("Connection", "close")
		return nil, apierr.Errorf(apierr.TooLarge, "Request body exceeds the limit of %d bytes", limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		w.Header().Set("Connection", "close")
		return nil, apierr.Errorf(apierr.TooLarge, "Request body exceeds the limit of %d bytes", limit)
	}
	if err != nil {
		return nil, apierr.Errorf(apierr.Serialization, "Could not read the request body: %v", err)
	}
	return body, nil
}

func queryForm(r *http.Request, body []byte) (url.Values, error) {
	form := r.URL.Query()
	if len(body) == 0 {
		return form, nil
	}
	posted, err := url.ParseQuery(string(body))
	if err != nil {
		return form, apierr.Errorf(apierr.Serialization, "Could not decode the form body: %v", err)
	}
	for k, v := range posted {
		form[k] = append(form[k], v...)
	}
	return form, nil
}

// jsonContentType answers in the JSON version the client spoke: 1.0 when it sent 1.0, else 1.1.
func jsonContentType(r *http.Request) string {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.0") {
		return "application/x-amz-json-1.0"
	}
	return "application/x-amz-json-1.1"
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
