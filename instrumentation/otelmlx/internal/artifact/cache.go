package artifact

import (
	"container/list"
	"io/fs"
	"sync"

	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/sniff"
)

// fileKey identifies file content without reading it. The change time is part of it because,
// unlike the modification time, a process cannot set it back: a file rewritten in place and
// then touched to its old mtime still gets a new key.
type fileKey struct {
	path         string
	dev, ino     uint64
	size         int64
	mtime, ctime int64
}

func keyOf(path string, fi fs.FileInfo) fileKey {
	k := fileKey{path: path, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	k.dev, k.ino, k.ctime = sysIdentity(fi)
	return k
}

type entry struct {
	sniff  sniff.Result
	digest string
}

// cache is a bounded LRU of file results.
type cache struct {
	mu    sync.Mutex
	cap   int
	ll    *list.List
	items map[fileKey]*list.Element
}

type cacheItem struct {
	key fileKey
	val entry
}

func newCache(capacity int) *cache {
	if capacity <= 0 {
		capacity = 4096
	}
	return &cache{cap: capacity, ll: list.New(), items: make(map[fileKey]*list.Element)}
}

func (c *cache) get(k fileKey) (entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.ll.MoveToFront(el)
		return el.Value.(*cacheItem).val, true
	}
	return entry{}, false
}

func (c *cache) put(k fileKey, v entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		el.Value.(*cacheItem).val = v
		c.ll.MoveToFront(el)
		return
	}
	c.items[k] = c.ll.PushFront(&cacheItem{key: k, val: v})
	for c.ll.Len() > c.cap {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.items, last.Value.(*cacheItem).key)
	}
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
