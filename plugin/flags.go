package plugin

import (
	"time"

	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
)

// checkTimeout rejects a --timeout that could never let a probe finish.
func checkTimeout(d time.Duration) error { return deadline.CheckTimeout(d) }
