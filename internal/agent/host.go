package agent

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/internal/model"
)

// Default reserves for gantry and the system.
const (
	defaultReserveCPU    = 256
	defaultReserveMemory = 512
)

// hostInfo describes this host for registration.
func (a *Agent) hostInfo() (model.Host, error) {
	id, err := a.hostID()
	if err != nil {
		return model.Host{}, err
	}
	cpu, mem := a.cfg.CPU, a.cfg.MemoryMiB
	if cpu == 0 {
		cpu = int64(goruntime.NumCPU()) * 1024
	}
	if mem == 0 {
		if mem, err = memTotalMiB(); err != nil {
			return model.Host{}, err
		}
	}
	now := a.cfg.Now().UTC()
	return model.Host{ID: id, CapacityCPU: max(cpu-reserve(a.cfg.ReserveCPU, defaultReserveCPU), 0),
		CapacityMemory: max(mem-reserve(a.cfg.ReserveMemoryMiB, defaultReserveMemory), 0),
		Status:         model.HostActive, Runtime: a.cfg.RuntimeName, RegisteredAt: now, HeartbeatAt: now}, nil
}

func reserve(v, def int64) int64 {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// hostID returns the configured id, else the one saved in the state dir, else a new saved one.
func (a *Agent) hostID() (string, error) {
	if a.cfg.HostID != "" {
		return a.cfg.HostID, nil
	}
	path := filepath.Join(a.cfg.StateDir, "host-id")
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read host id: %w", err)
	}
	buf := make([]byte, 8)
	_, _ = rand.Read(buf)
	id := "host-" + hex.EncodeToString(buf)
	if err := os.MkdirAll(a.cfg.StateDir, 0o700); err != nil {
		return "", fmt.Errorf("save host id: %w", err)
	}
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("save host id: %w", err)
	}
	return id, nil
}

// memTotalMiB reads the host's memory from /proc/meminfo.
func memTotalMiB() (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("read host memory: %w", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("read host memory: %w", err)
			}
			return kb / 1024, nil
		}
	}
	return 0, errors.New("read host memory: no MemTotal in /proc/meminfo")
}
