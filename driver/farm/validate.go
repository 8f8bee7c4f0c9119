package farm

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/docker/cli/cli/context/store"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/driver/builders"
	"github.com/docker-multiarch/docker-multiarch/driver/pathutil"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// validate checks every value of the file; errors name the file, the entry and the value.
func (f *File) validate() error {
	if len(f.Nodes) == 0 && len(f.Builders) == 0 {
		return fmt.Errorf("%s: declares no nodes and no builders (see docs/farmfile.md)", f.path)
	}
	seen := map[string]bool{}
	for i, n := range f.Nodes {
		if err := f.validateNode(n); err != nil {
			return fmt.Errorf("%s: %s: %w", f.path, nodeEntry(i, n.Name), err)
		}
		if seen[n.Name] {
			return fmt.Errorf("%s: %s: node name %q is declared twice", f.path, nodeEntry(i, n.Name), n.Name)
		}
		seen[n.Name] = true
	}
	seen = map[string]bool{}
	for i, b := range f.Builders {
		if err := f.validateBuilder(b); err != nil {
			return fmt.Errorf("%s: %s: %w", f.path, builderEntry(i, b.Name), err)
		}
		if seen[b.Name] {
			return fmt.Errorf("%s: %s: builder name %q is declared twice", f.path, builderEntry(i, b.Name), b.Name)
		}
		seen[b.Name] = true
	}
	return nil
}

func nodeEntry(i int, name string) string    { return entry("nodes", i, name) }
func builderEntry(i int, name string) string { return entry("builders", i, name) }

func entry(list string, i int, name string) string {
	if name == "" {
		return fmt.Sprintf("%s[%d]", list, i)
	}
	return fmt.Sprintf("%s[%d] (%s)", list, i, name)
}

func (f *File) validateNode(n Node) error {
	if err := store.ValidateContextName(n.Name); err != nil {
		return fmt.Errorf("name %q: %w", n.Name, err)
	}
	switch given := countGiven(n.Host, n.Context, n.BuildKit); {
	case given == 0:
		return errors.New("give host (a Docker endpoint URL), context (an existing Docker context) or buildkit (a BuildKit daemon's address)")
	case given > 1:
		return fmt.Errorf("%s: give one of host, context and buildkit", hostOrContext(n))
	case n.BuildKit != "":
		if err := contexts.ValidateBuildKitHost(n.BuildKit); err != nil {
			return err
		}
	case n.Host != "":
		if err := contexts.ValidateHost(n.Host); err != nil {
			return err
		}
	default:
		if err := store.ValidateContextName(n.Context); err != nil {
			return fmt.Errorf("context %q: %w", n.Context, err)
		}
	}
	if _, err := contexts.ParsePlatforms(n.Platforms); err != nil {
		return err
	}
	return f.validateTLS(n)
}

func (f *File) validateTLS(n Node) error {
	if n.TLS == nil {
		return nil
	}
	t := *n.TLS
	switch {
	case !strings.HasPrefix(n.Host, "tcp://") && !strings.HasPrefix(n.BuildKit, "tcp://"):
		return fmt.Errorf("tls applies to tcp:// hosts and BuildKit daemons only, not %q", hostOrContext(n))
	case t.ServerName != "" && n.BuildKit == "":
		return fmt.Errorf("tls: servername %q applies to BuildKit daemons only (a Docker context has no server name)", t.ServerName)
	case t.CA == "" && t.Cert == "" && t.Key == "":
		return errors.New("tls: give ca, and cert with key")
	case (t.Cert == "") != (t.Key == ""):
		return fmt.Errorf("tls: cert %q and key %q go together", t.Cert, t.Key)
	}
	return nil
}

// hostOrContext names what a node entry points at, for errors.
func hostOrContext(n Node) string {
	var named []string
	for _, v := range []struct{ key, value string }{{"host", n.Host}, {"context", n.Context}, {"buildkit", n.BuildKit}} {
		if v.value != "" {
			named = append(named, v.key+" "+redact.URL(v.value))
		}
	}
	return strings.Join(named, ", ")
}

func countGiven(values ...string) int {
	n := 0
	for _, v := range values {
		if v != "" {
			n++
		}
	}
	return n
}

func (f *File) validateBuilder(b Builder) error {
	if _, err := builders.ValidateBuilderName(b.Name); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, name := range b.Nodes {
		if !slices.ContainsFunc(f.Nodes, func(n Node) bool { return n.Name == name }) {
			return fmt.Errorf("nodes: unknown node %q (a builder takes nodes declared in this file)", name)
		}
		if seen[name] {
			return fmt.Errorf("nodes: node %q is listed twice", name)
		}
		seen[name] = true
	}
	for _, plat := range slices.Sorted(maps.Keys(b.Emulate)) {
		node := b.Emulate[plat]
		if _, err := contexts.ParsePlatform(plat); err != nil {
			return fmt.Errorf("emulate: %w", err)
		}
		declared := slices.ContainsFunc(f.Nodes, func(n Node) bool { return n.Name == node })
		if !declared || (len(b.Nodes) > 0 && !seen[node]) {
			return fmt.Errorf("emulate: %s on node %q: the node is not in the builder", plat, node)
		}
	}
	return builders.ValidateOptions(f.builderSpec(b, nil))
}

// resolve is a path of the file (relative to the file's folder) as the OS follows it, symlinks
// and ".." taken in order (pathutil.Resolve): what CheckPaths checked is exactly what is read.
func (f *File) resolve(p string) string {
	if p == "" {
		return p
	}
	if !filepath.IsAbs(p) {
		p = f.dir + string(filepath.Separator) + p // not filepath.Join: that cleans ".." as text
	}
	if real, err := pathutil.Resolve(p); err == nil {
		return real
	}
	return p // CheckPaths refused it already; reading it names the OS's error
}
