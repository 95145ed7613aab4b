package mlxanomaly

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The front cache must never answer with an evicted entry: keys that share a cache slot are
// evicted and created again, and every answer is checked against the map.
func TestTableFrontCache(t *testing.T) {
	tab := newTable(4, 1<<20, 1<<62, nil)
	var live []*entry
	for i := uint64(0); i < 64; i++ {
		h := i * recentSlots // every key in slot 0
		e, created := tab.get(h, kindOp, 1)
		require.True(t, created)
		live = append(live, e)
		assert.LessOrEqual(t, tab.len(), 4)
		for j, old := range live {
			if _, ok := tab.m[old.hash]; ok {
				got, created := tab.get(old.hash, kindOp, 1)
				assert.False(t, created)
				assert.Same(t, old, got, "key %d", j)
			}
		}
	}
	for _, r := range tab.recent {
		if r != nil {
			assert.Same(t, tab.m[r.hash], r, "the cache holds only live entries")
		}
	}
	// A key of another kind with the same hash replaces the cached one.
	h := live[len(live)-1].hash
	e, created := tab.get(h, kindModel, 1)
	assert.True(t, created)
	assert.Equal(t, kindModel, e.kind)
	assert.Same(t, e, tab.recent[h&(recentSlots-1)])
}
