//go:build mlx && !linux

package mlxc

import "errors"

func evictPageCache(string) error {
	return errors.New("evicting one file from the page cache needs posix_fadvise (Linux)")
}
