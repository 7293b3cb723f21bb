package api

import (
	"context"

	"github.com/gantry-dev/gantry/internal/api/awsjson"
	"github.com/gantry-dev/gantry/internal/model"
)

// JSONOp adapts a typed handler to an Operation: it decodes the body into In with AWS's
// errors and hands over the caller's scope.
func JSONOp[In any, Out any](fn func(ctx context.Context, sc model.Scope, in *In) (*Out, error)) Operation {
	return func(ctx context.Context, r *Request) (any, error) {
		var in In
		if err := awsjson.Decode(r.Body, &in); err != nil {
			return nil, err
		}
		out, err := fn(ctx, r.Scope, &in)
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}
