package artifact

import (
	"container/list"
	"io/fs"
	"sync"

	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/modelscan"
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
	scan   *modelscan.Report // the pickle scan's verdict, once scanned; shared, never modified
}

// cache is a bounded LRU of file results.
type cache struct {
	mu    sync.Mutex
	cap   int
	ll    *list.List
	items map[fileKey]*list.Element
	bytes int // approximate bytes held by keys and values
}

// maxCacheBytes bounds the cache in bytes as well as in entries: keys hold paths, and values
// details and fault messages, whose lengths the files' names and contents choose.
const maxCacheBytes = 8 << 20

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
		it := el.Value.(*cacheItem)
		c.bytes += v.cost() - it.val.cost()
		it.val = v
		c.ll.MoveToFront(el)
	} else {
		c.items[k] = c.ll.PushFront(&cacheItem{key: k, val: v})
		c.bytes += k.cost() + v.cost()
	}
	for c.ll.Len() > c.cap || (c.bytes > maxCacheBytes && c.ll.Len() > 1) {
		last := c.ll.Back()
		c.ll.Remove(last)
		it := last.Value.(*cacheItem)
		c.bytes -= it.key.cost() + it.val.cost()
		delete(c.items, it.key)
	}
}

// update changes the entry of k in place (a zero entry when there is none), so the digest and
// the scan verdict, found at different times, are kept together.
func (c *cache) update(k fileKey, fn func(*entry)) {
	c.mu.Lock()
	var v entry
	if el, ok := c.items[k]; ok {
		v = el.Value.(*cacheItem).val
	}
	c.mu.Unlock()
	fn(&v)
	c.put(k, v)
}

// cost approximates the bytes an entry holds: its strings and the fixed part.
func (k fileKey) cost() int { return len(k.path) + 48 }

func (e entry) cost() int {
	n := len(e.digest) + len(e.sniff.Detail) + len(e.sniff.Format) + 64
	if e.sniff.Err != nil {
		n += len(e.sniff.Err.Error())
	}
	if e.scan != nil {
		n += 64
		for _, g := range e.scan.Globals {
			n += len(g.Module) + len(g.Name) + 48
		}
		if e.scan.Err != nil {
			n += len(e.scan.Err.Error())
		}
	}
	return n
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
