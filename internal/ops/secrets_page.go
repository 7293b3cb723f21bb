package ops

import (
	"crypto/rand"
	"encoding/base64"
	"math/big"

	"github.com/gantry-dev/gantry/internal/apierr"
)

// keyedPage returns the page of items (already filtered and sorted) that starts after the item
// whose key the token names, and the token of the next page ("" on the last). The token is
// the last key of a page, base64 encoded, so it survives items added or removed in between.
func keyedPage[T any](items []T, key func(T) string, token string, max int) ([]T, string, error) {
	start := 0
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(raw) == 0 || raw[0] != 'k' {
			return nil, "", apierr.New(apierr.InvalidNextToken, "The NextToken value is invalid.")
		}
		after := string(raw[1:])
		start = len(items)
		for i, it := range items {
			if key(it) == after {
				start = i + 1
				break
			}
		}
	}
	end := min(start+max, len(items))
	page := items[start:end]
	if end >= len(items) || len(page) == 0 {
		return page, "", nil
	}
	return page, base64.RawURLEncoding.EncodeToString([]byte("k" + key(page[len(page)-1]))), nil
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomSuffix returns n random letters and digits.
func randomSuffix(n int) string {
	b := make([]byte, n)
	for i := range b {
		x, err := rand.Int(rand.Reader, big.NewInt(int64(len(alnum))))
		if err != nil {
			panic(err) // crypto/rand never fails on Linux
		}
		b[i] = alnum[x.Int64()]
	}
	return string(b)
}

func smDeref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
