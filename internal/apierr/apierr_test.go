package apierr

import (
	"errors"
	"fmt"
	"testing"
)

func TestKindAndMessage(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		kind     Kind
		message  string
		isNotFnd bool
	}{
		{"bare kind wrapped", fmt.Errorf("cluster %q: %w", "x", ClusterNotFound), ClusterNotFound, `cluster "x": cluster not found`, false},
		{"error with message", New(InvalidParameter, "Invalid 'cpu' setting."), InvalidParameter, "Invalid 'cpu' setting.", false},
		{"wrapped error keeps message", fmt.Errorf("ctx: %w", New(NotFound, "gone")), NotFound, "gone", true},
		{"plain error is internal", errors.New("boom"), Internal, "boom", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KindOf(tt.err); got != tt.kind {
				t.Errorf("KindOf = %q, want %q", got, tt.kind)
			}
			if got := Message(tt.err); got != tt.message {
				t.Errorf("Message = %q, want %q", got, tt.message)
			}
			if got := errors.Is(tt.err, NotFound); got != tt.isNotFnd {
				t.Errorf("errors.Is(NotFound) = %v, want %v", got, tt.isNotFnd)
			}
		})
	}
}
