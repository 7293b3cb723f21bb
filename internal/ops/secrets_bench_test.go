package ops_test

import (
	"fmt"
	"testing"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// BenchmarkGetSecretValue measures one read of a sealed secret: an etcd get and an AES-GCM open.
func BenchmarkGetSecretValue(b *testing.B) {
	v := newVault(b)
	ctx := b.Context()
	out, err := v.secrets.CreateSecret(ctx, vaultScope, ops.CreateSecretInput{Name: "bench", Value: &ops.SecretValue{String: str(`{"password":"p"}`)}})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.secrets.ResolveValueFrom(ctx, vaultScope, out.ARN+":password::"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutParameter measures one SecureString write: an etcd get, a seal and a compare-and-put.
func BenchmarkPutParameter(b *testing.B) {
	v := newVault(b)
	ctx := b.Context()
	i := 0
	for b.Loop() {
		i++
		if _, _, err := v.ssm.PutParameter(ctx, vaultScope, ops.PutParameterInput{Name: fmt.Sprintf("/bench/p%d", i), Value: "v",
			Type: model.ParamSecureString}); err != nil {
			b.Fatal(err)
		}
	}
}
