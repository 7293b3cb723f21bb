package store_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

var taskScope = model.Scope{Account: model.DefaultAccount, Region: "us-east-1"}

func newTaskStore(t *testing.T) *store.Store {
	t.Helper()
	cli, prefix := testutil.Etcd(t)
	return store.New(cli, prefix)
}

func sampleTask(id, host string) model.Task {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return model.Task{
		Scope: taskScope, ID: id, Cluster: "c", TaskDefinitionARN: "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1",
		Family: "web", Revision: 1, LaunchType: "FARGATE", CapacityProvider: "FARGATE_SPOT", CPU: "512", Memory: "1024",
		EphemeralStorageGiB: 30, Overrides: model.TaskOverride{CPU: "512", ContainerOverrides: []model.ContainerOverride{{Name: "app", Command: []string{"sh"},
			Environment: []model.KeyValuePair{{Name: "A", Value: new("")}}, Memory: new(256)}},
			EphemeralStorage: &model.EphemeralStorage{SizeInGiB: 30}},
		StartedBy: "me", Group: "family:web", Tags: []model.Tag{{Key: "k", Value: "v"}}, ClientToken: "tok",
		EnableExecuteCommand: true, Network: &model.AwsVpcConfiguration{Subnets: []string{"subnet-1"}, AssignPublicIP: "ENABLED"},
		DesiredStatus: model.TaskRunning, LastStatus: model.TaskProvisioning, HealthStatus: model.HealthUnknown,
		Times: model.TaskTimes{CreatedAt: at},
		Containers: []model.Container{{Name: "app", ID: "uuid", Image: "busybox", LastStatus: "PENDING", CPU: "0",
			Memory: "256", ExitCode: new(0), Essential: true}},
		Attachments: []model.Attachment{{ID: "a", Type: "ElasticNetworkInterface", Status: "PRECREATED",
			Details: []model.KeyValue{{Name: "subnetId", Value: "subnet-1"}}}},
		HostID: host, AvailabilityZone: "us-east-1a", PlatformVersion: "1.4.0", PlatformFamily: "Linux", Version: 1,
	}
}

func TestTasksRoundTripAndList(t *testing.T) {
	st := newTaskStore(t)
	ctx := t.Context()
	want := sampleTask("0001", "")
	if _, err := st.Tasks().Launch(ctx, store.Launch{Tasks: []model.Task{want, sampleTask("0002", "")}}); err != nil {
		t.Fatal(err)
	}
	got, err := st.Tasks().Get(ctx, taskScope, "c", "0001")
	if err != nil || !reflect.DeepEqual(got.Value, want) {
		t.Fatalf("Get = %+v, %v\nwant %+v", got.Value, err, want)
	}
	page, err := st.Tasks().List(ctx, taskScope, "c", "", 1)
	if err != nil || len(page.Items) != 1 || !page.More || page.Items[0].Value.ID != "0001" {
		t.Fatalf("List first page = %+v, %v", page, err)
	}
	page, err = st.Tasks().List(ctx, taskScope, "c", "0001", 1)
	if err != nil || len(page.Items) != 1 || page.Items[0].Value.ID != "0002" {
		t.Fatalf("List second page = %+v, %v", page, err)
	}
	if page, _ := st.Tasks().List(ctx, taskScope, "other", "", 0); len(page.Items) != 0 {
		t.Fatalf("List of another cluster = %d tasks", len(page.Items))
	}
	if _, err := st.Tasks().Get(ctx, taskScope, "c", "nope"); !errors.Is(err, apierr.NotFound) {
		t.Fatalf("Get missing = %v", err)
	}
}

func TestLaunchWritesTokenTasksAndHostsAtomically(t *testing.T) {
	st := newTaskStore(t)
	ctx := t.Context()
	if _, err := st.Hosts().Create(ctx, model.Host{ID: "h1", CapacityCPU: 1024, CapacityMemory: 2048, Status: model.HostActive}); err != nil {
		t.Fatal(err)
	}
	h, _ := st.Hosts().Get(ctx, "h1")
	h.Value.ReservedCPU, h.Value.ReservedMemory = 512, 1024
	tok := &store.ClientToken{Scope: taskScope, Cluster: "c", Token: "tok", Fingerprint: "fp", TaskIDs: []string{"0001"},
		Failures: []store.LaunchFailure{{ARN: "arn", Reason: "RESOURCE:CPU"}}, CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := st.Tasks().Launch(ctx, store.Launch{Tasks: []model.Task{sampleTask("0001", "h1")}, Hosts: []store.Versioned[model.Host]{h}, Token: tok}); err != nil {
		t.Fatal(err)
	}
	got, err := st.Tasks().Token(ctx, taskScope, "c", "tok")
	if err != nil || !reflect.DeepEqual(got, *tok) {
		t.Fatalf("Token = %+v, %v", got, err)
	}
	// The same token again, or the host at its old revision: nothing is written.
	tok2 := *tok
	tok2.TaskIDs = []string{"0002"}
	if _, err := st.Tasks().Launch(ctx, store.Launch{Tasks: []model.Task{sampleTask("0002", "")}, Token: &tok2}); !errors.Is(err, apierr.Conflict) {
		t.Fatalf("Launch with a used token = %v, want Conflict", err)
	}
	if _, err := st.Tasks().Launch(ctx, store.Launch{Tasks: []model.Task{sampleTask("0003", "h1")}, Hosts: []store.Versioned[model.Host]{h}}); !errors.Is(err, apierr.Conflict) {
		t.Fatalf("Launch with a stale host = %v, want Conflict", err)
	}
	for _, id := range []string{"0002", "0003"} {
		if _, err := st.Tasks().Get(ctx, taskScope, "c", id); !errors.Is(err, apierr.NotFound) {
			t.Fatalf("task %s of a failed launch exists: %v", id, err)
		}
	}
	if cur, _ := st.Hosts().Get(ctx, "h1"); cur.Value.ReservedCPU != 512 || cur.Value.ReservedMemory != 1024 {
		t.Fatalf("host reservation = %+v", cur.Value)
	}
}

func TestMutateReleasesReservationExactlyOnce(t *testing.T) {
	st := newTaskStore(t)
	ctx := t.Context()
	if _, err := st.Hosts().Create(ctx, model.Host{ID: "h1", CapacityCPU: 4096, CapacityMemory: 8192, ReservedCPU: 1024, ReservedMemory: 2048}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Tasks().Launch(ctx, store.Launch{Tasks: []model.Task{sampleTask("0001", "h1")}}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, err := st.Tasks().Mutate(ctx, taskScope, "c", "0001", func(tk *model.Task) error {
				tk.LastStatus = model.TaskStopped
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	h, _ := st.Hosts().Get(ctx, "h1")
	if h.Value.ReservedCPU != 512 || h.Value.ReservedMemory != 1024 {
		t.Fatalf("reservation after 8 concurrent stops = %d/%d, want 512/1024", h.Value.ReservedCPU, h.Value.ReservedMemory)
	}
	// Any later change of the stopped task releases nothing more.
	if _, err := st.Tasks().Mutate(ctx, taskScope, "c", "0001", func(tk *model.Task) error { tk.Version++; return nil }); err != nil {
		t.Fatal(err)
	}
	if h, _ := st.Hosts().Get(ctx, "h1"); h.Value.ReservedCPU != 512 {
		t.Fatalf("reservation moved again: %+v", h.Value)
	}
}

// TestTasksGetMany reads more tasks than one transaction takes, with missing ones among them,
// in the order asked.
func TestTasksGetMany(t *testing.T) {
	st := newTaskStore(t)
	ctx := t.Context()
	var ids []string
	for i := range 130 {
		id := fmt.Sprintf("%04d", i)
		if i%10 != 3 { // every tenth is missing
			if _, err := st.Tasks().Launch(ctx, store.Launch{Tasks: []model.Task{sampleTask(id, "")}}); err != nil {
				t.Fatal(err)
			}
		}
		ids = append(ids, id)
	}
	slices.Reverse(ids)
	got, err := st.Tasks().GetMany(ctx, taskScope, "c", ids)
	if err != nil || len(got) != len(ids) {
		t.Fatalf("GetMany = %d, %v", len(got), err)
	}
	for i, v := range got {
		missing := ids[i][3] == '3'
		if missing != (v == nil) || v != nil && (v.Value.ID != ids[i] || v.Revision == 0 || !reflect.DeepEqual(v.Value, sampleTask(ids[i], ""))) {
			t.Fatalf("GetMany[%d] (%s) = %+v", i, ids[i], v)
		}
	}
}
