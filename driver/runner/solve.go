package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/core/images"

	"github.com/distribution/reference"
	"github.com/docker/buildx/builder"
	bxdriver "github.com/docker/buildx/driver"
	"github.com/docker/buildx/util/confutil"
	"github.com/docker/buildx/util/progress"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/session/sshforward/sshprovider"
	"github.com/moby/buildkit/session/upload/uploadprovider"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/tonistiigi/fsutil"
)

// stepOut is what one platform's build produced: the push by digest's descriptor, the build's
// reference (BUILDER/NODE/REF) and its provenance for the metadata file.
type stepOut struct {
	desc       ocispec.Descriptor
	ref        string
	provenance json.RawMessage
}

// runStep builds one platform on its node through BuildKit's Dockerfile frontend. It only reads s:
// a step the watchdog abandoned may still be running, and its caller owns s.
func (r *Runner) runStep(ctx context.Context, st *runState, s *StepResult, node builder.Node, ref string, pw progress.Writer, live *liveness) (stepOut, error) {
	p := st.p
	so, err := r.solveOpt(ctx, p, s, node)
	if err != nil {
		return stepOut{}, err
	}
	so.Exports = st.exports(s)
	so.Ref = ref
	out := stepOut{ref: node.Builder + "/" + node.Name + "/" + so.Ref}
	var share joinLocals
	if st.locals != nil && node.Driver != nil && !node.Driver.RequiresUncachedClient() && sharesLocals(st, s) { // as buildx: a client that may reach another replica cannot share
		share = func(c *client.Client, cancel context.CancelCauseFunc) (func(), error) {
			return st.locals.join(ctx, c.Dialer(), node.Builder+"/"+node.Name, localDirsOf(p, s), so, cancel)
		}
	}
	resp, c, err := solve(ctx, node, so, pw, live, p.Timeout, share)
	if err != nil {
		return stepOut{}, err
	}
	prv, err := recordProvenance(ctx, node, c, so.Ref, p.provenanceMode(), p.Timeout)
	if err != nil {
		return stepOut{}, err
	}
	out.provenance = firstProvenance(prv)
	if out.desc, err = resultDescriptor(resp); err != nil {
		return out, err
	}
	return out, p.checkAttested(out.desc)
}

// expectsAttestations: the build asked for attestations (--attest, --provenance, --sbom), or
// pushes with buildx's default provenance.
func (p *parsed) expectsAttestations() bool {
	return len(p.attests) > 0 || (p.pushes && !p.attestSet["provenance"])
}

// checkAttested refuses a pushed result that lost the attestations the build made: an image
// manifest where an index of the image and its attestation manifest was due. Nothing publishes
// it (issue 21: attestations survive every path, or the build fails).
func (p *parsed) checkAttested(d ocispec.Descriptor) error {
	if !p.pushes || !p.expectsAttestations() || d.MediaType == "" || images.IsIndexType(d.MediaType) {
		return nil
	}
	return fmt.Errorf("the pushed result %s is a single image without the attestations the build made (%s): nothing is published from it", d.Digest, d.MediaType)
}

// joinLocals points a solve's local mounts at a session the command's solves share (localShares:
// cancel stops the solve if that session ends first); release is the solve done with it.
type joinLocals func(c *client.Client, cancel context.CancelCauseFunc) (release func(), err error)

// solve boots a node's BuildKit if needed and runs one solve, its progress going to pw; from then
// on the watchdog checks that BuildKit itself answers. With share, its local folders go through
// the session it joins.
func solve(ctx context.Context, node builder.Node, so *client.SolveOpt, pw progress.Writer, live *liveness, timeout time.Duration, share joinLocals) (*client.SolveResponse, *client.Client, error) {
	if node.Driver == nil {
		return nil, nil, fmt.Errorf("node %s: %w", node.Endpoint, node.Err)
	}
	c, err := bxdriver.Boot(ctx, context.WithoutCancel(ctx), node.Driver, pw) // the client outlives this step: the node's handle is shared by the command's builds (memo.go), as buildx bake shares it
	if err != nil {
		return nil, nil, fmt.Errorf("starting BuildKit: %w", err)
	}
	live.set("BuildKit", buildkitProbe(c))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if share != nil {
		release, err := share(c, cancel)
		if err != nil {
			return nil, nil, err
		}
		defer release()
	}
	watch := newPushWatch(progress.ResetTime(pw), timeout, pushRegistry(so), cancel)
	defer watch.close()
	ch, done := progress.NewChannel(watch)
	resp, err := c.Solve(ctx, nil, *so, ch)
	<-done
	if err != nil && ctx.Err() != nil {
		return resp, c, context.Cause(ctx)
	}
	return resp, c, err
}

// pushRegistry is the registry a solve pushes to, for naming it when it stops answering.
func pushRegistry(so *client.SolveOpt) string {
	for _, e := range so.Exports {
		name, _, _ := strings.Cut(e.Attrs["name"], ",")
		if named, err := reference.ParseNormalizedNamed(name); err == nil {
			return reference.Domain(named)
		}
	}
	return "(unknown)"
}

// solveOpt is what buildx would send for `docker buildx build --platform P` of this step.
func (r *Runner) solveOpt(ctx context.Context, p *parsed, s *StepResult, node builder.Node) (*client.SolveOpt, error) {
	attrs := map[string]string{"platform": s.Platform}
	if p.Target != "" {
		attrs["target"] = p.Target
	}
	if p.NoCache {
		attrs["no-cache"] = ""
	}
	if p.Pull {
		attrs["image-resolve-mode"] = "pull"
	} else if node.Driver != nil && node.Driver.IsMobyDriver() {
		attrs["image-resolve-mode"] = "local"
	}
	proxies, _ := proxyArgs(node.ProxyConfig)
	for k, v := range proxies {
		attrs["build-arg:"+k] = v
	}
	for k, v := range p.buildArgs {
		attrs["build-arg:"+k] = v
	}
	for k, v := range p.labels {
		attrs["label:"+k] = v
	}
	maps.Copy(attrs, p.attests)
	if !p.attestSet["provenance"] && p.pushes {
		attrs["attest:provenance"] = "mode=min,inline-only=true" // buildx's default
	}
	maps.Copy(attrs, p.solveAttrs)
	so := &client.SolveOpt{Frontend: "dockerfile.v0", FrontendAttrs: attrs, AllowedEntitlements: slices.Clone(p.allow)}
	switch p.Network {
	case "host":
		attrs["force-network-mode"] = "host"
		so.AllowedEntitlements = append(so.AllowedEntitlements, "network.host")
	case "none":
		attrs["force-network-mode"] = "none"
	}
	if err := r.setInputs(so, p, s); err != nil {
		return nil, err
	}
	if err := r.addFlags(ctx, so, p, node); err != nil {
		return nil, err
	}
	sessions, err := r.sessions(p)
	if err != nil {
		return nil, err
	}
	so.Session = append(sessions, so.Session...)
	so.CacheImports, so.CacheExports = slices.Clip(p.cacheFrom), slices.Clip(p.cacheTo) // each step appends its own cache ref
	// Steps on several nodes: each platform's registry cache its own.
	if s.several {
		so.CacheImports, so.CacheExports = scopeCaches(so.CacheImports, so.CacheExports, s.Platform)
	}
	if p.CacheRef != "" {
		ref := p.CacheRef + ":" + cacheSuffix(s.Platform)
		so.CacheImports = append(so.CacheImports, client.CacheOptionsEntry{Type: "registry", Attrs: map[string]string{"ref": ref}})
		so.CacheExports = append(so.CacheExports, client.CacheOptionsEntry{Type: "registry", Attrs: map[string]string{"ref": ref, "mode": "max"}})
	}
	return so, nil
}

// setInputs mounts the local context and the step's Dockerfile, or points the frontend at a
// remote context.
func (r *Runner) setInputs(so *client.SolveOpt, p *parsed, s *StepResult) error {
	dirs := localDirsOf(p, s)
	so.LocalMounts = map[string]fsutil.FS{}
	if p.stdin != nil && p.stdin.tar != "" {
		// The archive from stdin goes to BuildKit as it is, as buildx sends it: the frontend
		// fetches it through the session and unpacks it there.
		f, err := p.stdin.openTar()
		if err != nil {
			return err
		}
		up := uploadprovider.New()
		so.FrontendAttrs["context"] = up.Add(f)
		so.Session = append(so.Session, up)
	} else if dir, ok := dirs["context"]; ok {
		fs, err := fsutil.NewFS(dir)
		if err != nil {
			return fmt.Errorf("build context %s: %w", dir, err)
		}
		so.LocalMounts["context"] = fs
		so.SharedKey = sharedKey(dir) + ":" + confutil.NewConfig(r.dockerCli).TryNodeIdentifier()
	} else {
		so.FrontendAttrs["context"] = p.ContextPath
	}
	dir, ok := dirs["dockerfile"]
	if !ok {
		so.FrontendAttrs["filename"] = s.Dockerfile // inside the remote context
		return nil
	}
	fs, err := fsutil.NewFS(dir)
	if err != nil {
		return fmt.Errorf("Dockerfile %s: %w", s.Dockerfile, err)
	}
	so.LocalMounts["dockerfile"] = fs
	so.FrontendAttrs["filename"] = filepath.Base(s.Dockerfile)
	return nil
}

func sharedKey(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	h := sha256.Sum256([]byte(abs))
	return filepath.Base(abs) + "-" + hex.EncodeToString(h[:4])
}

// sessions are a build's attachables: registry auth from the Docker config (credential helpers
// included, read again when BuildKit asks: registry.Credentials), secrets and ssh.
func (r *Runner) sessions(p *parsed) ([]session.Attachable, error) {
	out := []session.Attachable{authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
		AuthConfigProvider: r.registry.Auth(),
	})}
	store, err := secretsprovider.NewStore(p.secrets)
	if err != nil {
		return nil, fmt.Errorf("--secret: %w", err)
	}
	out = append(out, secretsprovider.NewSecretProvider(store))
	if len(p.ssh) > 0 {
		ssh, err := sshprovider.NewSSHAgentProvider(p.ssh)
		if err != nil {
			return nil, fmt.Errorf("--ssh: %w", err)
		}
		out = append(out, ssh)
	}
	return out, nil
}

// exports: with --push the image by digest to every tag's repository (never a tag); with --load
// a docker image loaded into the current engine.
func (st *runState) exports(s *StepResult) []client.ExportEntry {
	p := st.p
	out := st.outputExports(s)
	if s.Loaded && st.res.loadAll { // every platform into a containerd image store: assembled after the steps
		out = append(out, client.ExportEntry{Type: client.ExporterOCI, Attrs: p.reproducibleAttrs(map[string]string{"oci-mediatypes": "true"}),
			Output: st.files.layouts().output(s.Platform)})
	} else if s.Loaded {
		attrs := map[string]string{}
		if len(p.Tags) > 0 {
			attrs["name"] = strings.Join(p.Tags, ",")
		}
		// kept until the gate and the publish are done (localload.go)
		out = append(out, client.ExportEntry{Type: client.ExporterDocker, Attrs: p.reproducibleAttrs(attrs), Output: st.files.load.output})
	}
	if p.pushes { // last: BuildKit merges the exporters' answers in order, and the push's descriptor is the one published
		out = append(out, client.ExportEntry{Type: client.ExporterImage, Attrs: p.reproducibleAttrs(map[string]string{
			"name": strings.Join(p.repos, ","), "push": "true", "push-by-digest": "true", "unpack": "false",
		})})
	}
	return out
}
