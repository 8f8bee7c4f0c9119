package runner

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/docker/buildx/util/dockerutil"
	"github.com/docker/buildx/util/progress"
	mobyclient "github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/docker-multiarch/docker-multiarch/driver/plan"
)

// stepRunner builds one step, on its node's BuildKit or, with the engine strategy, on its engine,
// while a watchdog checks the node (its engine, then its BuildKit; a BuildKit daemon's BuildKit).
func (r *Runner) stepRunner(st *runState) func(context.Context, *StepResult) (ocispec.Descriptor, error) {
	p, nodes, engines, printer := st.p, st.nodes, st.engines, st.printer
	return func(ctx context.Context, s *StepResult) (ocispec.Descriptor, error) {
		var desc ocispec.Descriptor
		var built stepOut // a BuildKit step's reference and provenance
		label := s.Platform
		if s.label != "" {
			label = s.label
		}
		pw := &detachable{Writer: progress.WithPrefix(printer, label, true)}
		live := &liveness{}
		endpoint := s.Node
		if bk, ok := nodes[s.BuildxNode]; ok && s.BuildKit && bk.Driver != nil {
			// A BuildKit daemon has no engine: the watchdog asks BuildKit from the start.
			endpoint = bk.Driver.Config().EndpointAddr
			live.set("BuildKit", func(ctx context.Context) error {
				c, err := bk.Driver.Client(context.WithoutCancel(ctx))
				if err != nil {
					return err
				}
				return buildkitProbe(c)(ctx)
			})
		} else if api, ep, err := engines.get(s.Node); err == nil {
			endpoint = ep
			live.set("engine", func(ctx context.Context) error {
				_, err := api.Ping(ctx, mobyclient.PingOptions{})
				return err
			})
		}
		// The solve's reference is known before it runs: a failed platform's record names it too.
		ref := solveRef(p.RunID, p.CacheKey)
		if n, ok := nodes[s.BuildxNode]; ok && s.Strategy != plan.StrategyEngine {
			s.Ref = n.Builder + "/" + n.Name + "/" + ref
		}
		err := watch(ctx, s.Node, endpoint, p.Timeout, live, pw, func(ctx context.Context) (err error) {
			if s.Strategy == plan.StrategyEngine {
				log := newVertexLog(pw, fmt.Sprintf("[%s] classic build on the engine of node %s", s.Platform, s.Node))
				desc, err = r.engineStep(ctx, st, s, log)
				log.done(err)
				return err
			}
			node, ok := nodes[s.BuildxNode]
			if !ok {
				return fmt.Errorf("builder node %s is not loaded", s.BuildxNode)
			}
			out, err := r.runStep(ctx, st, s, node, ref, pw, live)
			desc, built = out.desc, out
			return err
		})
		s.warnings, s.Vertices = pw.buildWarnings(), maskArgValues(pw.log.vertices(), p.buildArgs)
		s.Cached, s.Steps = CachedSteps(s.Vertices)
		if err != nil {
			return ocispec.Descriptor{}, err // desc and built may still be written by an abandoned step
		}
		s.Ref, s.provenance = built.ref, built.provenance
		return desc, nil
	}
}

// runSteps builds every platform in parallel; the first failure cancels the others.
func (r *Runner) runSteps(ctx context.Context, res *Result, run func(context.Context, *StepResult) (ocispec.Descriptor, error)) ([]ocispec.Descriptor, error) {
	descs := make([]ocispec.Descriptor, len(res.Steps))
	eg, ctx := errgroup.WithContext(ctx)
	var mu sync.Mutex
	for i := range res.Steps {
		s := &res.Steps[i]
		eg.Go(func() error {
			start := time.Now()
			desc, err := run(ctx, s)
			mu.Lock()
			defer mu.Unlock()
			s.Duration = time.Since(start)
			s.Seconds = s.Duration.Round(time.Millisecond).Seconds()
			if err != nil {
				return fmt.Errorf("%s on node %s: %w", s.Platform, s.Node, err)
			}
			descs[i] = desc
			s.Digest = desc.Digest.String()
			return nil
		})
	}
	return descs, eg.Wait()
}

// engineClients are the Docker API clients of the nodes a build uses, one per node for the whole
// build: the watchdog's checks reuse its connection (one ssh login per node, not one per check).
type engineClients struct {
	r       *Runner
	mu      sync.Mutex
	clients map[string]*dockerutil.ClientAPI
}

func (r *Runner) newEngineClients() *engineClients {
	return &engineClients{r: r, clients: map[string]*dockerutil.ClientAPI{}}
}

// get returns the node's client and its endpoint.
func (e *engineClients) get(node string) (*dockerutil.ClientAPI, string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	api, ok := e.clients[node]
	if !ok {
		var err error
		if api, err = dockerutil.NewClientAPI(e.r.dockerCli, node); err != nil {
			return nil, "", fmt.Errorf("node %s: %w", node, err)
		}
		e.clients[node] = api
	}
	return api, api.DaemonHost(), nil
}

func (e *engineClients) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.clients {
		_ = c.Close()
	}
}
