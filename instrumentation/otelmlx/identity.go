package otelmlx

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"sync"
)

// pseudonymizer turns caller identities into enduser.pseudo.id values: the first 16 bytes of
// HMAC-SHA256(key, identity), hex encoded. Recent results are remembered in a map bounded in
// entries and in bytes so a busy caller costs one map lookup; identities longer than
// maxMemoIdentity are hashed every time instead of being kept.
type pseudonymizer struct {
	pool  sync.Pool
	mu    sync.Mutex
	memo  map[string]string
	max   int
	bytes int // identity bytes held by memo
}

const (
	minIdentityKey  = 16
	maxMemoIdentity = 256     // bytes of an identity worth remembering (API keys, user ids)
	maxMemoBytes    = 1 << 20 // identity bytes the memo holds at most
)

func newPseudonymizer(key []byte, set bool) (*pseudonymizer, error) {
	if !set {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
	} else if len(key) < minIdentityKey {
		return nil, errors.New("otelmlx: identity key must be at least 16 bytes; use 32 random bytes from a secret store")
	}
	p := &pseudonymizer{memo: make(map[string]string), max: 4096}
	p.pool.New = func() any { return hmac.New(sha256.New, key) }
	return p, nil
}

func (p *pseudonymizer) id(identity string) string {
	if identity == "" {
		return ""
	}
	p.mu.Lock()
	v, ok := p.memo[identity]
	p.mu.Unlock()
	if ok {
		return v
	}
	h := p.pool.Get().(hash.Hash)
	h.Reset()
	h.Write([]byte(identity))
	var sum [sha256.Size]byte
	v = hex.EncodeToString(h.Sum(sum[:0])[:16])
	p.pool.Put(h)
	if len(identity) > maxMemoIdentity {
		return v
	}
	p.mu.Lock()
	if len(p.memo) >= p.max || p.bytes+len(identity) > maxMemoBytes {
		// Dropping everything is cheaper than tracking recency and keeps the bound; the
		// busiest callers are back after one HMAC each.
		clear(p.memo)
		p.bytes = 0
	}
	if _, ok := p.memo[identity]; !ok {
		p.bytes += len(identity)
	}
	p.memo[identity] = v
	p.mu.Unlock()
	return v
}
