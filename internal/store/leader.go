package store

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Key schema:
//
//	leader/<name>/<lease>   one key per candidate; the oldest leads (etcd's election recipe)
//
// A leader holds a lease it keeps alive; when the process dies or loses etcd, the lease expires
// after its TTL and the next candidate leads. Controllers fence their writes on the revisions
// of the records they read, so a deposed leader that has not yet noticed writes nothing.

// Leadership is won leadership of one election.
type Leadership struct {
	sess *concurrency.Session
	elec *concurrency.Election
}

// Lead campaigns for leadership of name as id and blocks until this process leads or ctx ends.
// ttl is the lease's time to live in seconds (at least 1): how long a dead leader blocks others.
func (s *Store) Lead(ctx context.Context, name, id string, ttl int) (*Leadership, error) {
	sess, err := concurrency.NewSession(s.cli, concurrency.WithTTL(max(ttl, 1)), concurrency.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("leader session: %w", err)
	}
	elec := concurrency.NewElection(sess, s.prefix+"/leader/"+name)
	if err := elec.Campaign(ctx, id); err != nil {
		sess.Close()
		return nil, fmt.Errorf("campaign for %s: %w", name, err)
	}
	return &Leadership{sess: sess, elec: elec}, nil
}

// Done closes when leadership is lost: the lease expired or could not be kept alive.
func (l *Leadership) Done() <-chan struct{} { return l.sess.Done() }

// Leader reports whether this leadership still holds: its key is the election's oldest.
func (l *Leadership) Leader(ctx context.Context) (bool, error) {
	resp, err := l.elec.Leader(ctx)
	if err != nil {
		return false, err
	}
	return len(resp.Kvs) > 0 && string(resp.Kvs[0].Key) == l.elec.Key(), nil
}

// Resign gives leadership up and revokes the lease, so the next candidate leads at once.
func (l *Leadership) Resign(ctx context.Context) error {
	err := l.elec.Resign(ctx)
	if cerr := l.sess.Close(); err == nil {
		err = cerr
	}
	return err
}

// Leader returns the id of name's current leader, or "" when there is none.
func (s *Store) Leader(ctx context.Context, name string) (string, error) {
	resp, err := s.cli.Get(ctx, s.prefix+"/leader/"+name+"/", clientv3.WithFirstCreate()...)
	if err != nil {
		return "", err
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}
