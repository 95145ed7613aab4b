//go:build !linux

package artifact

import "os"

func adviseSequential(*os.File) {}

// residentSample is unknown here: no page is reported cached or not.
func residentSample(*os.File, int64, int) (resident, sampled int) { return 0, 0 }
