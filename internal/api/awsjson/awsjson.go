// Package awsjson decodes AWS JSON 1.0/1.1 request bodies into wire shapes, with AWS's errors.
package awsjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/gantry-dev/gantry/internal/apierr"
)

// Decode reads body into v. An empty body is an empty object, as AWS treats it. Malformed JSON
// and members of the wrong type are apierr.Serialization, naming the member; unknown members are
// ignored, as AWS ignores them.
func Decode(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		body = []byte("{}")
	}
	if body[0] != '{' {
		return apierr.New(apierr.Serialization, "Start of structure or map found where not expected: the request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return translate(err)
	}
	if dec.More() {
		return apierr.New(apierr.Serialization, "Unexpected content after the JSON object")
	}
	return nil
}

func translate(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field := typeErr.Field
		if field == "" {
			field = "(root)"
		}
		return apierr.Errorf(apierr.Serialization, "Unexpected value type for member %s: got a JSON %s, expected %s", field, typeErr.Value, kindName(typeErr.Type.Kind().String()))
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return apierr.Errorf(apierr.Serialization, "Malformed JSON at offset %d: %v", syntaxErr.Offset, syntaxErr)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return apierr.New(apierr.Serialization, "Malformed JSON: the body ends inside a value")
	}
	return apierr.Errorf(apierr.Serialization, "Could not decode the request: %v", err)
}

func kindName(k string) string {
	switch k {
	case "int", "int32", "int64", "float64":
		return "a number"
	case "bool":
		return "a boolean"
	case "string":
		return "a string"
	case "slice":
		return "a list"
	case "struct", "map":
		return "an object"
	}
	return k
}
