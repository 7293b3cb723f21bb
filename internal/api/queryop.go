package api

import (
	"context"
	"errors"
	"strings"

	"github.com/gantry-dev/gantry/internal/api/awsquery"
	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// QueryOp adapts a typed handler to an Operation of a query-protocol service: it decodes the
// form into In with AWS's errors, hands over the caller's scope, and turns an *apierr.Coded into
// a kind that CodedKind reads back, so the service's ErrorCode answers with the exact code.
func QueryOp[In any, Out any](fn func(ctx context.Context, sc model.Scope, in *In) (*Out, error)) Operation {
	return func(ctx context.Context, r *Request) (any, error) {
		var in In
		if err := awsquery.Decode(r.Form, &in); err != nil {
			return nil, err
		}
		out, err := fn(ctx, r.Scope, &in)
		if err != nil {
			return nil, withCode(err)
		}
		return out, nil
	}
}

// codedKindPrefix prefixes the kinds withCode makes from a code, so CodedKind can tell them
// from apierr's own.
const codedKindPrefix = "code:"

// withCode carries an *apierr.Coded's exact code to the service's ErrorCode. Service.ErrorCode
// sees only a kind, so the code travels as a kind of its own, made here at the top and nowhere
// else; errors without a code pass unchanged.
func withCode(err error) error {
	var e *apierr.Coded
	if !errors.As(err, &e) {
		return err
	}
	return &apierr.Error{Kind: apierr.Kind(codedKindPrefix + e.Code), Message: e.Err.Message}
}

// CodedKind returns the code a kind made by withCode carries; ErrorCode funcs answer with it
// first.
func CodedKind(k apierr.Kind) (code string, ok bool) {
	return strings.CutPrefix(string(k), codedKindPrefix)
}
