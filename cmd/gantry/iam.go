package main

import (
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/api/iam"
	"github.com/gantry-dev/gantry/internal/api/sts"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/sealer"
	"github.com/gantry-dev/gantry/internal/store"
)

// The IAM operations are the front door's Authenticator.
var _ api.Authenticator = (*ops.IAM)(nil)

// iamFlags configure IAM enforcement and the account root's bootstrap credentials.
type iamFlags struct {
	mode       string
	rootKey    string
	rootSecret string
}

// The well-known credentials every tool's examples use; the root's default key.
const (
	defaultRootKey    = "test"
	defaultRootSecret = "test"
)

func (i *iamFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&i.mode, "iam", "off", "IAM enforcement: off (any credentials act as the account root), or enforce "+
		"(verify every request's SigV4 signature and decide it with the caller's IAM policies)")
	fs.StringVar(&i.rootKey, "iam-root-access-key-id", defaultRootKey, "access key id of the account root user, allowed everything under --iam enforce. "+
		"WARNING: the default is the well-known test/test pair that every example uses: anyone who can reach the endpoint "+
		"with it is root; set your own pair before exposing gantry")
	fs.StringVar(&i.rootSecret, "iam-root-secret-access-key", defaultRootSecret, "secret access key of the account root user (see --iam-root-access-key-id; default: test)")
}

func (i *iamFlags) validate() error {
	switch i.mode {
	case "off", "enforce":
	default:
		return fmt.Errorf("--iam %q: use off or enforce", i.mode)
	}
	if i.rootKey == "" || i.rootSecret == "" {
		return fmt.Errorf("--iam-root-access-key-id and --iam-root-secret-access-key must not be empty")
	}
	return nil
}

// openSealer opens the master key that seals secrets, parameters and credentials at rest:
// <data-dir>/keys/master.key, made on first start.
func openSealer(dataDir string) (*sealer.Sealer, error) {
	return sealer.Open(filepath.Join(dataDir, "keys", "master.key"))
}

// buildIAM registers IAM and STS on the front door and, under --iam enforce, makes the front
// door verify signatures and decide requests with the IAM operations.
func buildIAM(f iamFlags, st *store.Store, seal *sealer.Sealer, front *api.Server, logger *slog.Logger) (*ops.IAM, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	iamOps := ops.NewIAM(st, seal, logger)
	iamOps.SetRootKey(f.rootKey, f.rootSecret)
	front.Register(iam.Service(iamOps))
	front.Register(sts.Service(iamOps))
	if f.mode == "enforce" {
		iamOps.SetEnforce(true)
		front.Enforce(iamOps)
		if f.rootKey == defaultRootKey && f.rootSecret == defaultRootSecret {
			logger.Warn("IAM is enforced but the account root's credentials are the well-known test/test: set --iam-root-access-key-id and --iam-root-secret-access-key")
		}
	}
	return iamOps, nil
}
