package artifact

import "os"

// Cold reports whether most of the bytes of m that are not hashed yet are absent from the page
// cache (sampled per file, files of 1 MiB or more; false where the system cannot tell). From a
// cold cache, hashing the files first, in one sequential pass, and then loading them from memory
// takes less time than a hash and a loader reading the disk at once in different orders (MLX
// reads a safetensors file in the order of its tensor names, not of their offsets); with the
// files cached, hashing alongside the load is faster.
func (in *Inspector) Cold(m *Manifest) bool {
	var resident, sampled int
	for i := range m.Files {
		f := &m.Files[i]
		if f.Digest != "" || f.Size < 1<<20 {
			continue
		}
		fh, err := os.Open(f.abs)
		if err != nil {
			continue
		}
		r, s := residentSample(fh, f.Size, 16)
		fh.Close()
		resident, sampled = resident+r, sampled+s
	}
	return sampled > 0 && resident*2 < sampled
}
