package taskrunner

import (
	"context"
	"testing"
)

func TestJob(t *testing.T) {
	var j job[int]
	if _, ok := j.take(); ok {
		t.Fatal("a job never begun gave a result")
	}
	runs := 0
	j.start(t.Context(), func(context.Context) int { runs++; return 7 })
	j.start(t.Context(), func(context.Context) int { runs++; return 8 }) // begun already
	if v, ok := j.take(); !ok || v != 7 {
		t.Fatalf("take = %d, %v; want 7", v, ok)
	}
	if _, ok := j.take(); ok || runs != 1 {
		t.Fatalf("second take gave a result, or the work ran %d times", runs)
	}
}
