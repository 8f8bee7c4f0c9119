package plugin

import (
	"fmt"
	"time"
)

// checkTimeout rejects a --timeout that could never let a probe finish.
func checkTimeout(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("invalid --timeout %s: must be positive", d)
	}
	return nil
}
