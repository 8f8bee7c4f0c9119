package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/docker/buildx/builder"
	bxdriver "github.com/docker/buildx/driver"
	"github.com/docker/buildx/util/progress"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/frontend/subrequests/lint"
	"github.com/moby/buildkit/solver/pb"
	"golang.org/x/sync/errgroup"
)

// CheckResult is what `--call check` (or another frontend method) found in one platform's Dockerfile, on the node that
// would build it (the Dockerfile, its ARGs and its stages can differ per platform).
type CheckResult struct {
	Platform   string `json:"platform"`
	Node       string `json:"node"`
	Dockerfile string `json:"dockerfile"`
	Warnings   int    `json:"warnings"`
	Report     string `json:"report"`     // BuildKit's own rendering of the warnings
	StatusCode int    `json:"statusCode"` // the frontend's status: non-zero when it found something
	Error      string `json:"error,omitempty"`
}

// checkAll runs the Dockerfile frontend's lint subrequest (buildx's --call check) for every
// platform on its node, in parallel; nothing is built, exported or pushed.
func (r *Runner) checkAll(ctx context.Context, st *runState) error {
	p, res, nodes, printer := st.p, st.res, st.nodes, st.printer
	res.Checks = make([]CheckResult, len(res.Steps))
	eg, ctx := errgroup.WithContext(ctx)
	for i := range res.Steps {
		s := &res.Steps[i]
		eg.Go(func() error {
			node, ok := nodes[s.BuildxNode]
			if !ok || node.Driver == nil {
				return fmt.Errorf("%s on node %s: builder node %s is not loaded", s.Platform, s.Node, s.BuildxNode)
			}
			c, err := r.checkOne(ctx, p, s, node, progress.WithPrefix(printer, s.Platform, true))
			if err != nil {
				return fmt.Errorf("%s on node %s: %w", s.Platform, s.Node, err)
			}
			res.Checks[i] = c
			return nil
		})
	}
	return eg.Wait()
}

func (r *Runner) checkOne(ctx context.Context, p *parsed, s *StepResult, node builder.Node, pw progress.Writer) (CheckResult, error) {
	out := CheckResult{Platform: s.Platform, Node: s.Node, Dockerfile: s.Dockerfile}
	so, err := r.solveOpt(ctx, p, s, node)
	if err != nil {
		return out, err
	}
	so.Exports, so.CacheExports = nil, nil
	attrs := so.FrontendAttrs
	attrs["requestid"] = "frontend." + p.call.Name
	attrs["frontend.caps"] = "moby.buildkit.frontend.subrequests+forward"
	so.Frontend, so.FrontendAttrs = "", nil
	c, err := bxdriver.Boot(ctx, context.WithoutCancel(ctx), node.Driver, pw) // the client outlives this step: the node's handle is shared by the command's builds (memo.go), as buildx bake shares it
	if err != nil {
		return out, fmt.Errorf("starting BuildKit: %w", err)
	}
	var meta map[string][]byte
	ch, done := progress.NewChannel(progress.ResetTime(pw))
	_, err = c.Build(ctx, *so, "docker-multiarch", func(ctx context.Context, gc gateway.Client) (*gateway.Result, error) {
		res, err := gc.Solve(ctx, gateway.SolveRequest{Frontend: "dockerfile.v0", FrontendOpt: attrs})
		if err != nil {
			return nil, err
		}
		meta = res.Metadata
		return res, nil
	}, ch)
	<-done
	if err != nil {
		return out, err
	}
	if p.call.Name == "lint" && p.call.Format != "json" {
		return out, readLint(&out, meta)
	}
	return out, readCall(&out, meta, p.call.Format)
}

// readCall is another method's result (outline, targets, or lint as JSON), as buildx prints it.
func readCall(out *CheckResult, meta map[string][]byte, format string) error {
	if dt, ok := meta["result.json"]; ok && format == "json" {
		out.Report = string(dt) + "\n"
	} else if dt, ok := meta["result.txt"]; ok {
		out.Report = string(dt)
	}
	if n, err := strconv.Atoi(string(meta["result.statuscode"])); err == nil {
		out.StatusCode = n
	}
	return nil
}

// readLint turns the lint subrequest's result into a CheckResult, rendered as buildx renders it.
func readLint(out *CheckResult, meta map[string][]byte) error {
	var results lint.LintResults
	if dt, ok := meta["result.json"]; ok {
		if err := json.Unmarshal(dt, &results); err != nil {
			return fmt.Errorf("the check's result: %w", err)
		}
	}
	if err := checkLintResults(&results); err != nil {
		return fmt.Errorf("the check's result: %w", err)
	}
	out.Warnings = len(results.Warnings)
	var buf bytes.Buffer
	if err := results.PrintTo(&buf, nil); err != nil {
		return err
	}
	if results.Error != nil {
		results.PrintErrorTo(&buf, nil)
		out.Error = "the Dockerfile does not build"
	}
	out.Report = buf.String()
	if n, err := strconv.Atoi(string(meta["result.statuscode"])); err == nil {
		out.StatusCode = n
	}
	return nil
}

// checkLintResults refuses the results (as a BuildKit sent them) that BuildKit's own renderer
// would crash on: a warning without a location, a location whose source is missing (the error's
// must have one), a range without its ends.
func checkLintResults(r *lint.LintResults) error {
	var locs []*pb.Location
	for _, w := range r.Warnings {
		if w.Location == nil {
			return fmt.Errorf("warning %s has no location", w.RuleName)
		}
		locs = append(locs, w.Location)
	}
	if r.Error != nil {
		if r.Error.Location.SourceIndex < 0 {
			return errors.New("the error's location has no source")
		}
		locs = append(locs, &r.Error.Location)
	}
	for _, l := range locs {
		if int(l.SourceIndex) >= len(r.Sources) || l.SourceIndex >= 0 && r.Sources[l.SourceIndex] == nil {
			return fmt.Errorf("source %d of a location is missing", l.SourceIndex)
		}
		for _, rg := range l.Ranges {
			if rg == nil || rg.Start == nil || rg.End == nil {
				return fmt.Errorf("a range of source %d has no ends", l.SourceIndex)
			}
		}
	}
	return nil
}
