package spec

import (
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/distribution/reference"
	"github.com/docker/buildx/util/ocilayout"
	"github.com/docker/buildx/util/urlutil"
	"github.com/moby/buildkit/client/ociindex"
	"github.com/opencontainers/go-digest"

	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// Kinds of --build-context values.
const (
	ContextRemote = "remote"     // a git or HTTP(S) URL, docker-image://REF or target:STAGE: passed to the frontend
	ContextOCI    = "oci-layout" // oci-layout://PATH[:TAG][@DIGEST]: the layout's content store goes with the solve
	ContextLocal  = "local"      // a local directory, mounted as the main context is
)

// NamedContext is one --build-context NAME=VALUE.
type NamedContext struct {
	Name  string // as buildx normalizes it (familiar form, without :latest)
	Value string
	Kind  string
	OCI   ocilayout.Ref // with Kind oci-layout: the layout, its digest resolved
}

// ParseBuildContexts parses --build-context as buildx does (ParseContextNames, then loadInputs'
// checks, made before anything runs): a later value for a name replaces an earlier one.
func ParseBuildContexts(values []string, typed ...Pair) ([]NamedContext, error) {
	var pairs []Pair
	for _, v := range values {
		if v == "" {
			continue
		}
		name, value, ok := strings.Cut(v, "=")
		if !ok {
			return nil, Invalid("--build-context", redact.URL(v), "want NAME=VALUE")
		}
		pairs = append(pairs, Pair{name, value})
	}
	var out []NamedContext
	index := map[string]int{}
	for _, pr := range append(pairs, typed...) {
		name, value, v := pr.Name, pr.Value, pr.Name+"="+pr.Value
		named, err := reference.ParseNormalizedNamed(name)
		if err != nil {
			return nil, Invalid("--build-context", redact.URL(v), "name %q: %w", redact.URL(name), redact.Error(err))
		}
		c := NamedContext{Name: strings.TrimSuffix(reference.FamiliarString(named), ":latest"), Value: value}
		if err := c.resolve(); err != nil {
			return nil, Invalid("--build-context", redact.URL(v), "%w", redact.Error(err)) // errors of the check quote the value
		}
		if i, ok := index[c.Name]; ok {
			out[i] = c
			continue
		}
		index[c.Name] = len(out)
		out = append(out, c)
	}
	return out, nil
}

// ContextPath is the folder on this machine a named context's value makes the build read, as
// resolve tells them apart: the value itself for a local folder, the layout's folder for
// oci-layout://PATH[:TAG][@DIGEST] (buildx's parser); ok is false for a remote one (a git or
// HTTP(S) URL, docker-image://REF, target:STAGE). bake's --allow check reads values the same way.
func ContextPath(v string) (string, bool) {
	if remoteContext(v) {
		return "", false
	}
	if ref, ok, err := ocilayout.Parse(v); ok {
		if err != nil {
			return strings.TrimPrefix(v, "oci-layout://"), true
		}
		return ref.Path, true
	}
	return v, true
}

func remoteContext(v string) bool {
	return urlutil.IsRemoteURL(v) || strings.HasPrefix(v, "docker-image://") || strings.HasPrefix(v, "target:")
}

// resolve tells the kind of a context's value and checks it as buildx does before building.
func (c *NamedContext) resolve() error {
	v := c.Value
	if remoteContext(v) {
		c.Kind = ContextRemote
		return nil
	}
	if ref, ok, err := ocilayout.Parse(v); ok {
		if err != nil {
			return err
		}
		if ref.Digest == "" {
			d, err := layoutDigest(ref.Path, ref.Tag)
			if err != nil {
				return fmt.Errorf("oci-layout reference %q could not be resolved: %w", v, err)
			}
			ref.Digest = d
		}
		c.Kind, c.OCI = ContextOCI, ref
		return nil
	}
	st, err := os.Stat(v)
	if err != nil {
		return fmt.Errorf("context %s: %w", c.Name, redact.Error(err)) // the error names the value
	}
	if !st.IsDir() {
		return fmt.Errorf("context %s: %s is not a directory", c.Name, redact.URL(v))
	}
	c.Kind = ContextLocal
	return nil
}

// layoutDigest finds the image of an OCI layout by tag, else its single image (buildx's resolveDigest).
func layoutDigest(path, tag string) (digest.Digest, error) {
	idx := ociindex.NewStoreIndex(path)
	desc, err := idx.Get(tag)
	if err != nil {
		return "", err
	}
	if desc == nil {
		if desc, err = idx.GetSingle(); err != nil {
			return "", err
		}
	}
	if desc == nil {
		return "", fmt.Errorf("no image tagged %q and not a single image", tag)
	}
	if err := desc.Digest.Validate(); err != nil {
		return "", err
	}
	return desc.Digest, nil
}

// Host is one --add-host, as buildx reads it: HOST:IP or HOST=IP, IP being one or more
// addresses ([v6] allowed) or "host-gateway" (the engine's address, for the docker driver only).
type Host struct {
	Host    string
	IPs     []string
	Gateway bool
}

func ParseHosts(values []string, typed ...Pair) ([]Host, error) {
	var pairs []Pair
	for _, h := range values {
		host, ip, ok := strings.Cut(h, "=")
		if !ok {
			host, ip, ok = strings.Cut(h, ":")
		}
		if !ok {
			return nil, Invalid("--add-host", h, "want HOST:IP")
		}
		pairs = append(pairs, Pair{host, ip})
	}
	var out []Host
	for i, pr := range append(pairs, typed...) {
		host, ip, h := pr.Name, pr.Value, pr.Name+"="+pr.Value
		if i < len(values) {
			h = values[i] // as the user wrote it
		}
		if host == "" || ip == "" {
			return nil, Invalid("--add-host", h, "want HOST:IP")
		}
		e := Host{Host: host}
		if ip == "host-gateway" {
			e.Gateway = true
			out = append(out, e)
			continue
		}
		for v := range strings.SplitSeq(ip, ",") {
			if len(v) > 2 && v[0] == '[' && v[len(v)-1] == ']' {
				v = v[1 : len(v)-1]
			}
			if net.ParseIP(v) == nil {
				return nil, Invalid("--add-host", h, "%q is not an IP address (or host-gateway)", v)
			}
			e.IPs = append(e.IPs, v)
		}
		out = append(out, e)
	}
	return out, nil
}
