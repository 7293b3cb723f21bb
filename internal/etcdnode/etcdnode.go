// Package etcdnode runs a single-member etcd inside the gantry process.
package etcdnode

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
)

// Config says where the member keeps its data and how it listens.
type Config struct {
	// Dir holds the member's data (wal, snapshots) and its log file.
	Dir string
	// ClientAddr and PeerAddr are host:port to listen on; empty picks a free loopback port.
	ClientAddr string
	PeerAddr   string
	// NoFsync trades durability for speed; only tests may set it.
	NoFsync bool
}

// Node is a running embedded etcd member.
type Node struct {
	etcd   *embed.Etcd
	client *clientv3.Client
	// ClientURL is where external tools (etcdctl) reach the member.
	ClientURL string
}

// Start runs a member and waits until it serves, or ctx ends.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("etcd data dir: %w", err)
	}
	// A port picked free can be taken by another process before etcd binds it: pick again.
	picked := cfg.ClientAddr == "" || cfg.PeerAddr == ""
	var e *embed.Etcd
	var clientURL *url.URL
	for attempt := 1; ; attempt++ {
		var err error
		e, clientURL, err = startEtcd(cfg)
		if err == nil {
			break
		}
		if !picked || attempt == 5 || !addrInUse(err) {
			return nil, fmt.Errorf("start embedded etcd: %w", err)
		}
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, fmt.Errorf("embedded etcd not ready after 60s")
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	return &Node{etcd: e, client: v3client.New(e.Server), ClientURL: clientURL.String()}, nil
}

// Client returns an in-process client that needs no network round trip.
func (n *Node) Client() *clientv3.Client { return n.client }

// Close stops the member; it is safe on a nil or partly started node.
func (n *Node) Close() error {
	if n == nil {
		return nil
	}
	if n.client != nil {
		n.client.Close()
	}
	if n.etcd != nil {
		n.etcd.Close()
	}
	return nil
}

func startEtcd(cfg Config) (*embed.Etcd, *url.URL, error) {
	clientURL, err := listenURL(cfg.ClientAddr)
	if err != nil {
		return nil, nil, err
	}
	peerURL, err := listenURL(cfg.PeerAddr)
	if err != nil {
		return nil, nil, err
	}
	ec := embed.NewConfig()
	ec.Name = "gantry"
	ec.Dir = filepath.Join(cfg.Dir, "member-data")
	ec.ListenClientUrls = []url.URL{*clientURL}
	ec.AdvertiseClientUrls = []url.URL{*clientURL}
	ec.ListenPeerUrls = []url.URL{*peerURL}
	ec.AdvertisePeerUrls = []url.URL{*peerURL}
	ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	ec.LogLevel = "error"
	ec.LogOutputs = []string{filepath.Join(cfg.Dir, "etcd.log")}
	ec.AutoCompactionMode = "revision"
	ec.AutoCompactionRetention = "10000"
	ec.QuotaBackendBytes = 8 << 30
	ec.UnsafeNoFsync = cfg.NoFsync
	e, err := embed.StartEtcd(ec)
	return e, clientURL, err
}

// addrInUse says whether err is a bind failure on a taken port; etcd does not always wrap it.
func addrInUse(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use")
}

func listenURL(addr string) (*url.URL, error) {
	if addr == "" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		addr = l.Addr().String()
		l.Close()
	}
	return &url.URL{Scheme: "http", Host: addr}, nil
}
