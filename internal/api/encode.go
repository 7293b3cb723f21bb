package api

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"

	"github.com/gantry-dev/gantry/internal/apierr"
)

// encoder answers in one protocol's envelope. writeResult answers an internal error instead when
// out cannot be encoded, and returns that error so the caller can log it.
type encoder interface {
	writeResult(w http.ResponseWriter, req *Request, svc *Service, out any) error
	writeError(w http.ResponseWriter, req *Request, svc *Service, err error)
}

// DefaultErrorCode names kinds for services without their own table, in the common AWS words.
func DefaultErrorCode(k apierr.Kind) string {
	switch k {
	case apierr.InvalidParameter:
		return "InvalidParameterValue"
	case apierr.MissingParameter:
		return "MissingParameter"
	case apierr.NotFound:
		return "ResourceNotFoundException"
	case apierr.AlreadyExists:
		return "ResourceAlreadyExistsException"
	case apierr.LimitExceeded:
		return "LimitExceededException"
	case apierr.ResourceInUse:
		return "ResourceInUseException"
	case apierr.AccessDenied:
		return "AccessDeniedException"
	case apierr.Throttled:
		return "ThrottlingException"
	case apierr.Serialization:
		return "SerializationException"
	case apierr.UnknownOperation:
		return "UnknownOperationException"
	case apierr.TooLarge:
		return "RequestEntityTooLarge"
	case apierr.Conflict:
		return "ConflictException"
	case apierr.Internal:
		return "InternalFailure"
	case apierr.Unavailable:
		return "ServiceUnavailable"
	}
	return "ValidationException"
}

// errorShape is what every encoder needs to say about an error.
type errorShape struct {
	code    string
	message string
	status  int
	sender  bool // the caller's fault (4xx) rather than ours
}

// shapeError names err for svc: the service's own table first, then the protocol's words for the
// failures the front door itself reports, then DefaultErrorCode.
func shapeError(svc *Service, proto Protocol, err error) errorShape {
	kind := apierr.KindOf(err)
	code := ""
	if svc != nil && svc.ErrorCode != nil {
		code = svc.ErrorCode(kind)
	}
	if code == "" && proto != JSON {
		switch kind {
		case apierr.UnknownOperation:
			code = "InvalidAction"
		case apierr.Serialization:
			code = "MalformedQueryString"
		}
	}
	if code == "" {
		code = DefaultErrorCode(kind)
	}
	e := errorShape{code: code, message: apierr.Message(err), status: http.StatusBadRequest, sender: true}
	switch kind {
	case apierr.Internal:
		e.status, e.sender = http.StatusInternalServerError, false
		e.message = "An internal error occurred; the request id identifies it in the server log."
	case apierr.Unavailable:
		e.status, e.sender = http.StatusServiceUnavailable, false
	case apierr.TooLarge:
		e.status = http.StatusRequestEntityTooLarge
	case apierr.AccessDenied:
		if proto != JSON {
			e.status = http.StatusForbidden
		}
	case apierr.Throttled:
		e.status = http.StatusTooManyRequests
	}
	return e
}

type jsonEncoder struct{ contentType string }

func (j jsonEncoder) writeResult(w http.ResponseWriter, req *Request, svc *Service, out any) error {
	body, err := json.Marshal(out)
	if err != nil {
		err = fmt.Errorf("encode %s answer: %w: %w", req.Operation, err, apierr.Internal)
		j.writeError(w, req, svc, err)
		return err
	}
	if bytes.Equal(body, []byte("null")) { // no output, or a nil *Out from JSONOp
		body = []byte("{}")
	}
	w.Header().Set("Content-Type", j.contentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return nil
}

func (j jsonEncoder) writeError(w http.ResponseWriter, _ *Request, svc *Service, err error) {
	e := shapeError(svc, JSON, err)
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{e.code, e.message})
	w.Header().Set("Content-Type", j.contentType)
	w.Header().Set("X-Amzn-ErrorType", e.code)
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}

// queryEncoder answers as ELBv2, IAM and STS do:
// <ActionResponse xmlns=..><ActionResult>..</ActionResult><ResponseMetadata><RequestId>..
type queryEncoder struct{}

func (q queryEncoder) writeResult(w http.ResponseWriter, req *Request, svc *Service, out any) error {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	buf.WriteString("<" + req.Operation + "Response xmlns=\"" + xmlAttr(svc.XMLNamespace) + "\">")
	if out != nil {
		start := xml.StartElement{Name: xml.Name{Local: req.Operation + "Result"}}
		if err := xml.NewEncoder(&buf).EncodeElement(out, start); err != nil {
			err = fmt.Errorf("encode %s answer: %w: %w", req.Operation, err, apierr.Internal)
			q.writeError(w, req, svc, err)
			return err
		}
	}
	buf.WriteString("<ResponseMetadata><RequestId>" + req.RequestID + "</RequestId></ResponseMetadata>")
	buf.WriteString("</" + req.Operation + "Response>")
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
	return nil
}

func (queryEncoder) writeError(w http.ResponseWriter, req *Request, svc *Service, err error) {
	e := shapeError(svc, Query, err)
	typ := "Sender"
	if !e.sender {
		typ = "Receiver"
	}
	ns := ""
	if svc != nil {
		ns = svc.XMLNamespace
	}
	body, _ := xml.Marshal(struct {
		XMLName xml.Name `xml:"ErrorResponse"`
		Xmlns   string   `xml:"xmlns,attr,omitempty"`
		Type    string   `xml:"Error>Type"`
		Code    string   `xml:"Error>Code"`
		Message string   `xml:"Error>Message"`
		ReqID   string   `xml:"RequestId"`
	}{Xmlns: ns, Type: typ, Code: e.code, Message: e.message, ReqID: req.RequestID})
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.status)
	_, _ = w.Write(append([]byte(xml.Header), body...))
}

// ec2Encoder answers as EC2 does: the result's members sit directly in <ActionResponse>, next to
// <requestId>, and errors use <Response><Errors>.
type ec2Encoder struct{}

func (c ec2Encoder) writeResult(w http.ResponseWriter, req *Request, svc *Service, out any) error {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	buf.WriteString("<" + req.Operation + "Response xmlns=\"" + xmlAttr(svc.XMLNamespace) + "\">")
	buf.WriteString("<requestId>" + req.RequestID + "</requestId>")
	if out != nil {
		inner, err := innerXML(out)
		if err != nil {
			err = fmt.Errorf("encode %s answer: %w: %w", req.Operation, err, apierr.Internal)
			c.writeError(w, req, svc, err)
			return err
		}
		buf.Write(inner)
	}
	buf.WriteString("</" + req.Operation + "Response>")
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
	return nil
}

func (ec2Encoder) writeError(w http.ResponseWriter, req *Request, svc *Service, err error) {
	e := shapeError(svc, EC2Query, err)
	body, _ := xml.Marshal(struct {
		XMLName xml.Name `xml:"Response"`
		Code    string   `xml:"Errors>Error>Code"`
		Message string   `xml:"Errors>Error>Message"`
		ReqID   string   `xml:"RequestID"`
	}{Code: e.code, Message: e.message, ReqID: req.RequestID})
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(e.status)
	_, _ = w.Write(append([]byte(xml.Header), body...))
}

// xmlAttr escapes s for a double-quoted XML attribute.
func xmlAttr(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// innerXML encodes v's members without an element of its own around them.
func innerXML(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := xml.NewEncoder(&buf).EncodeElement(v, xml.StartElement{Name: xml.Name{Local: "x"}}); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	b = bytes.TrimPrefix(b, []byte("<x>"))
	b = bytes.TrimSuffix(b, []byte("</x>"))
	if bytes.Equal(b, []byte("<x/>")) {
		return nil, nil
	}
	return b, nil
}
