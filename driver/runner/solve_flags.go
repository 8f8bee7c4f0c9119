package runner

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/docker-multiarch/docker-multiarch/driver/spec"
	"github.com/docker/buildx/builder"
	"github.com/docker/buildx/util/confutil"
	"github.com/docker/buildx/util/urlutil"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/identity"
	"github.com/moby/buildkit/util/gitutil"
	"github.com/tonistiigi/fsutil"
)

// addFlags sets what buildx sends in a solve for --add-host (host-gateway resolved on the step's
// node) and --build-context, and the frontend capabilities they need.
func (r *Runner) addFlags(ctx context.Context, so *client.SolveOpt, p *parsed, node builder.Node) error {
	hosts, err := extraHosts(ctx, p.hosts, node)
	if err != nil {
		return err
	}
	if hosts != "" {
		so.FrontendAttrs["add-hosts"] = hosts
	}
	caps := map[string]bool{}
	if urlutil.IsRemoteURL(p.ContextPath) && gitQuery(p.ContextPath) {
		caps["moby.buildkit.frontend.gitquerystring"] = true
	}
	for _, c := range p.contexts {
		caps["moby.buildkit.frontend.contexts+forward"] = true
		if err := r.addContext(so, c, caps); err != nil {
			return err
		}
	}
	if len(caps) > 0 {
		so.FrontendAttrs["frontend.caps"] = strings.Join(slices.Sorted(maps.Keys(caps)), ",")
	}
	return nil
}

// addContext passes one --build-context as buildx does: a remote one by value, an OCI layout as
// a content store of the session, a local directory as a mount of its own.
func (r *Runner) addContext(so *client.SolveOpt, c spec.NamedContext, caps map[string]bool) error {
	key := "context:" + c.Name
	switch c.Kind {
	case spec.ContextRemote:
		so.FrontendAttrs[key] = c.Value
		if gitQuery(c.Value) {
			caps["moby.buildkit.frontend.gitquerystring+forward"] = true
		}
	case spec.ContextOCI:
		store, err := local.NewStore(c.OCI.Path)
		if err != nil {
			return fmt.Errorf("--build-context %s: invalid store at %s: %w", c.Name, c.OCI.Path, err)
		}
		name := identity.NewID()
		if so.OCIStores == nil {
			so.OCIStores = map[string]content.Store{}
		}
		so.OCIStores[name] = store
		ref := c.OCI
		ref.Path = name
		so.FrontendAttrs[key] = ref.String()
	case spec.ContextLocal:
		mount := c.Name
		if mount == "context" || mount == "dockerfile" {
			mount = "_" + mount // as buildx: never the main context's or the Dockerfile's mount
		}
		fs, err := fsutil.NewFS(c.Value)
		if err != nil {
			return fmt.Errorf("--build-context %s: %w", c.Name, err)
		}
		so.LocalMounts[mount] = fs
		so.FrontendAttrs[key] = "local:" + mount
		abs, err := filepath.Abs(c.Value)
		if err != nil {
			abs = c.Value
		}
		so.FrontendAttrs["sharedkey:localdir:"+c.Name] = filepath.Base(abs) + ":" + confutil.NewConfig(r.dockerCli).TryNodeIdentifier()
	}
	return nil
}

// gitQuery tells whether a context is a git URL with a query (?ref=...&subdir=...), which the
// frontend reads only when told it may.
func gitQuery(v string) bool {
	u, err := gitutil.ParseURL(v)
	return err == nil && len(u.Query) > 0
}

// extraHosts is the frontend's add-hosts attribute ("HOST=IP,..."); host-gateway is the address
// the node's engine gives its builds, which only the docker driver knows (as in buildx).
func extraHosts(ctx context.Context, hosts []spec.Host, node builder.Node) (string, error) {
	var out []string
	for _, h := range hosts {
		ips := h.IPs
		if h.Gateway {
			if node.Driver == nil {
				return "", fmt.Errorf("--add-host %s:host-gateway: node %s is not loaded", h.Host, node.Name)
			}
			ip, err := node.Driver.HostGatewayIP(ctx)
			if err != nil {
				return "", fmt.Errorf("--add-host %s:host-gateway on node %s: unable to derive the IP value for host-gateway: %w", h.Host, node.Name, err)
			}
			ips = []string{ip.String()}
		}
		for _, ip := range ips {
			out = append(out, h.Host+"="+ip)
		}
	}
	return strings.Join(out, ","), nil
}
