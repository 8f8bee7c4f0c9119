package builders

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	bxdriver "github.com/docker/buildx/driver"

	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// unboot undoes booting on the nodes that the restored builder does not have (all of them when
// create made the builder): a BuildKit container that booting created is removed with its state
// volume, one that it only started is stopped again. The nodes of a builder that existed keep
// their containers. It runs even when ctx has ended (Ctrl-C), each node within the timeout.
func (tx *createTx) unboot(ctx context.Context) []error {
	ctx = context.WithoutCancel(ctx)
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, n := range tx.nodes {
		if !needsBoot(n) || n.DriverInfo == nil || (!tx.res.Created && !slices.Contains(tx.res.Added, n.Endpoint)) {
			continue
		}
		wg.Go(func() {
			err := deadline.Call(ctx, tx.timeout, func(ctx context.Context) error {
				if n.DriverInfo.Status == bxdriver.Inactive {
					return removeNode(ctx, n)
				}
				return n.Driver.Stop(ctx, true)
			})
			if err != nil {
				mu.Lock()
				defer mu.Unlock()
				errs = append(errs, fmt.Errorf("node %q: BuildKit container %s: %w", n.Endpoint, bxdriver.BuilderName(n.Name), redact.Error(err)))
			}
		})
	}
	wg.Wait()
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errs
}
