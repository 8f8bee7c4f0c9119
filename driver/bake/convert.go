package bake

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/docker/buildx/util/urlutil"
	"github.com/moby/buildkit/session/sshforward/sshprovider"

	"github.com/docker-multiarch/docker-multiarch/driver/runner"
	"github.com/docker-multiarch/docker-multiarch/driver/spec"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// targetPrefix marks a context that is another target's result: contexts = { base = "target:base" }.
const targetPrefix = "target:"

// converted is a target as build options, and the targets whose results it takes as contexts
// (context name -> target), given to it as OCI layouts once they are built.
type converted struct {
	opts runner.Options
	deps map[string]string
	// cacheOnly: nothing of the target leaves BuildKit (output cacheonly, as buildx gives a target
	// that is only another's context): --push and --load do not apply to it.
	cacheOnly bool
	// pushes: buildx's outputs of the target push it (with --push: it has no local, tar or oci
	// output, or it has an image output).
	pushes bool
}

// convert turns a resolved target into the options of `docker multiarch build`, with buildx's
// meaning for every key (bake's toBuildOpt): the flags of the bake (o) apply to every target.
// A dockerfile-inline is written into dir.
func (t *Target) convert(name string, o Options, dir string) (converted, error) {
	c := converted{deps: map[string]string{}}
	if t.Call != nil && *t.Call != "" && *t.Call != "build" {
		return c, fmt.Errorf("target %s: call %q: bake builds (run `docker multiarch build --call %s` for one target)", name, *t.Call, *t.Call)
	}
	ro := runner.Options{
		Builder: o.Builder, Progress: o.Progress, Timeout: o.Timeout, DryRun: o.DryRun, Stdout: o.Stdout,
		Tags: t.Tags, Platforms: t.Platforms, Target: deref(t.Target), Network: deref(t.Network),
		Pull: derefBool(t.Pull), NoCache: derefBool(t.NoCache), DeferPublish: true,
	}
	if err := t.inputs(name, &ro, dir); err != nil {
		return c, err
	}
	if err := t.checkKeys(name); err != nil {
		return c, err
	}
	ro.Entries = t.entries()
	for _, a := range t.Annotations {
		ro.Annotations = append(ro.Annotations, unescape(a))
	}
	ro.NoCacheFilter, ro.Ulimits, ro.ShmSize = t.NoCacheFilter, t.Ulimits, deref(t.ShmSize)
	allow, err := entitlements(name, t.Entitlements, o.Allow)
	if err != nil {
		return c, err
	}
	ro.Allow = allow
	for ctxName, v := range t.Contexts {
		if dep, ok := strings.CutPrefix(v, targetPrefix); ok {
			c.deps[ctxName] = dep
			if !o.DryRun {
				continue // an OCI layout of the target's result, once it is built
			}
		}
		ro.Entries.Contexts = append(ro.Entries.Contexts, spec.Pair{Name: ctxName, Value: strings.TrimPrefix(v, "cwd://")})
	}
	slices.SortFunc(ro.Entries.Contexts, func(a, b spec.Pair) int { // as NAME=VALUE: a later one for a name wins
		return strings.Compare(a.Name+"="+a.Value, b.Name+"="+b.Value)
	})
	c.cacheOnly = slices.ContainsFunc(t.Outputs, func(e map[string]any) bool { return fmt.Sprint(e["type"]) == "cacheonly" })
	if c.pushes = pushes(t.Outputs); c.pushes { // the test gate runs on what is published
		ro.Test, ro.TestImageCmd, ro.TestCriteria = o.Test, o.TestImageCmd, o.TestCriteria
		ro.Signer = o.Signer // every pushed target's index and manifests signed before any tag moves
	}
	c.opts = ro
	return c, nil
}

// pushes tells whether a target's outputs, as buildx resolved them (--push is buildx's
// setPushOverride: an image output pushes, a registry one is added unless the target has an
// output other than docker), push its image.
func pushes(outputs []map[string]any) bool {
	return slices.ContainsFunc(outputs, func(e map[string]any) bool {
		typ := fmt.Sprint(e["type"])
		push, _ := strconv.ParseBool(fmt.Sprint(e["push"]))
		return typ == "registry" || (typ == "image" && push)
	})
}

// inputs sets the context and the Dockerfile as buildx reads them: the context "." by default,
// the Dockerfile relative to the context ("cwd://" ones to the working directory). The default
// Dockerfile keeps per-platform Dockerfiles (Dockerfile.linux-arm64 beside it) in use.
func (t *Target) inputs(name string, ro *runner.Options, dir string) error {
	ro.ContextPath = "."
	if t.Context != nil && *t.Context != "" {
		ro.ContextPath = strings.TrimPrefix(*t.Context, "cwd://")
	}
	if ro.ContextPath == "-" {
		return fmt.Errorf("target %s: a context from standard input is not allowed in bake", name)
	}
	local := !urlutil.IsRemoteURL(ro.ContextPath)
	if t.DockerfileInline != nil {
		path := filepath.Join(dir, "dockerfile-inline", name, "Dockerfile")
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(unescape(*t.DockerfileInline)), 0o600); err != nil {
			return fmt.Errorf("target %s: dockerfile-inline: %w", name, err)
		}
		ro.File = path
		return nil
	}
	df := deref(t.Dockerfile)
	switch {
	case df == "" || df == "Dockerfile":
		return nil // PATH/Dockerfile, or PATH/Dockerfile.<os>-<arch> for its platform
	case strings.HasPrefix(df, "cwd://"):
		ro.File = filepath.Clean(strings.TrimPrefix(df, "cwd://"))
	case df == "-":
		return fmt.Errorf("target %s: a Dockerfile from standard input is not allowed in bake", name)
	case !local:
		return fmt.Errorf("target %s: dockerfile %q inside the remote context %s: only the context's own Dockerfile is supported", name, df, redact.URL(ro.ContextPath))
	case filepath.IsAbs(df):
		ro.File = df
	default:
		ro.File = filepath.Join(ro.ContextPath, df)
	}
	return nil
}

// entries are the target's values that buildx prints as objects and maps (cache, secrets,
// outputs, attestations, ssh, args, labels), given to the build typed: each object's keys and
// values as they are, never written as flag text to be parsed again.
func (t *Target) entries() spec.Entries {
	e := spec.Entries{
		CacheFrom: entriesOf(t.CacheFrom, "type"), CacheTo: entriesOf(t.CacheTo, "type"),
		Secrets: entriesOf(t.Secrets, "id"), Outputs: entriesOf(t.Outputs, "type", "dest"),
		Attests:   entriesOf(t.Attest, "type", "disabled"),
		BuildArgs: values(t.Args), Labels: values(t.Labels),
		Hosts: pairs(values(t.ExtraHosts)), Resources: pairs(scalars(t.Resources)), Policies: policies(t.Policy),
	}
	for _, k := range t.SSH {
		id := k.ID
		if id == "" {
			id = "default"
		}
		cfg := sshprovider.AgentConfig{ID: id}
		if len(k.Paths) > 0 {
			cfg.Paths = k.Paths
		}
		e.SSH = append(e.SSH, cfg)
	}
	return e
}

// checkKeys refuses an entry key holding "=" (cache-from, cache-to, secret, output, attest): a
// field is KEY=VALUE, so such a key could not be told from its value.
func (t *Target) checkKeys(name string) error {
	for key, list := range map[string][]map[string]any{"cache-from": t.CacheFrom, "cache-to": t.CacheTo,
		"secret": t.Secrets, "output": t.Outputs, "attest": t.Attest} {
		for _, o := range list {
			for k := range o {
				if strings.Contains(k, "=") {
					return fmt.Errorf("target %s: %s: key %q holds \"=\"", name, key, k)
				}
			}
		}
	}
	return nil
}

// entriesOf are buildx's printed entries (one flat object each), their values as flag text
// shows them (strings as they are, numbers and booleans as Go prints them).
func entriesOf(objects []map[string]any, first ...string) []spec.Entry {
	var out []spec.Entry
	for _, o := range objects {
		if len(o) == 0 {
			continue // an empty object sets nothing, as an empty flag value
		}
		m := map[string]string{}
		for k, v := range o {
			m[k] = scalar(v)
		}
		out = append(out, spec.EntryOf(m, first...))
	}
	return out
}

// values are a map's values, unescaped; null values are left out, as buildx does.
func values(m map[string]*string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if v != nil {
			out[k] = unescape(*v)
		}
	}
	return out
}

// scalar is a printed value as a flag's text: strings as they are, numbers and booleans as Go prints them.
func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// pairs are a map's NAME=VALUE pairs, sorted by name.
func pairs(m map[string]string) []spec.Pair {
	var out []spec.Pair
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, spec.Pair{Name: k, Value: m[k]})
	}
	return out
}

// scalars are a printed object's values as flag text shows them.
func scalars(m map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = scalar(v)
	}
	return out
}

// policies are the policy entries as --policy's fields (a policy file is refused by the build: no
// policy engine).
func policies(in []policyConfig) []spec.Entry {
	var out []spec.Entry
	for _, p := range in {
		var fields []string
		for _, f := range p.Files {
			fields = append(fields, "filename="+f.Filename)
		}
		if p.Reset {
			fields = append(fields, "reset=true")
		}
		if p.Disabled {
			fields = append(fields, "disabled=true")
		}
		if p.Strict != nil {
			fields = append(fields, "strict="+strconv.FormatBool(*p.Strict))
		}
		if p.LogLevel != nil {
			fields = append(fields, "log-level="+*p.LogLevel)
		}
		out = append(out, spec.Entry{Fields: fields, Text: strings.Join(fields, ",")})
	}
	return out
}

// entitlements are what a target asks beyond a plain build (network.host, security.insecure,
// device...): each must be granted with --allow, as buildx asks before building.
func entitlements(name string, want, granted []string) ([]string, error) {
	var out []string
	for _, e := range want {
		base, _, _ := strings.Cut(e, "=")
		if !slices.Contains(granted, e) && !slices.Contains(granted, base) {
			return nil, fmt.Errorf("target %s asks for entitlement %s: give --allow %s", name, e, e)
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefBool(b *bool) bool { return b != nil && *b }
