package store_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

func TestHostsRoundTrip(t *testing.T) {
	st := newTaskStore(t)
	ctx := t.Context()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	want := model.Host{ID: "h1", CapacityCPU: 2048, CapacityMemory: 4096, ReservedCPU: 1, ReservedMemory: 2,
		Status: model.HostActive, Runtime: "runc", RegisteredAt: at, HeartbeatAt: at}
	if _, err := st.Hosts().Create(ctx, want); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Hosts().Create(ctx, want); !errors.Is(err, apierr.AlreadyExists) {
		t.Fatalf("second Create = %v", err)
	}
	all, err := st.Hosts().List(ctx)
	if err != nil || len(all) != 1 || !reflect.DeepEqual(all[0].Value, want) {
		t.Fatalf("List = %+v, %v", all, err)
	}
}
