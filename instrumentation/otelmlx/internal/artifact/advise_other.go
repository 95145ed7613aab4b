//go:build !linux

package artifact

import "os"

func adviseSequential(*os.File) {}
