// Package plan routes a build: which node builds each platform, natively or emulated, from which
// Dockerfile, and how (BuildKit or the node's engine). It is pure: no I/O beyond looking up
// Dockerfiles next to a local context.
package plan

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/docker/buildx/util/urlutil"
)

// Build strategies.
const (
	StrategyBuildKit = "buildkit" // the node's BuildKit (the builder's docker-container node)
	StrategyEngine   = "engine"   // the node's own engine through the classic build API (Windows engines)
)

// RouteNode is what routing knows of a builder node: the platforms it builds natively and the
// ones it emulates.
type RouteNode struct {
	Name       string
	BuildxNode string
	Native     []string
	Emulated   []string
	// EngineOnly nodes are not BuildKit nodes of the builder (Windows engines): their engine builds.
	EngineOnly bool
	// BuildKit nodes are standalone BuildKit daemons: they have no engine (no --strategy engine).
	BuildKit bool
}

// Step is one platform of a build: where it runs and from which Dockerfile.
type Step struct {
	Platform   string `json:"platform"`
	Node       string `json:"node"`
	BuildxNode string `json:"buildxNode"`
	Dockerfile string `json:"dockerfile"`
	Emulated   bool   `json:"emulated"`
	Strategy   string `json:"strategy"`
	// BuildKit: the node is a standalone BuildKit daemon.
	BuildKit bool `json:"-"`
	// Running is how many builds the node ran when it was chosen (when it was asked).
	Running int `json:"-"`
}

// DefaultPlatforms is every platform the builder's nodes build, native or emulated, in node order
// (engine-only nodes join when their platform is asked for).
func DefaultPlatforms(nodes []RouteNode) []string {
	var out []string
	for _, n := range nodes {
		if n.EngineOnly {
			continue
		}
		for _, p := range slices.Concat(n.Native, n.Emulated) {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// DockerfileOptions say where each platform's Dockerfile comes from.
type DockerfileOptions struct {
	ContextPath string            // a local directory, or a URL (no per-platform lookup then)
	File        string            // -f, for every platform without its own
	FileFor     map[string]string // --file-for PLATFORM=PATH
	// ContextFiles are the files at the root of a context archive read from stdin (nil when
	// unknown): a per-platform Dockerfile among them is used for its platform.
	ContextFiles []string
	// RemoteFile is the Dockerfile's path inside a remote context ("": Dockerfile).
	RemoteFile string
}

// AssignDockerfiles sets each step's Dockerfile: --file-for, then -f, then a per-platform file
// next to the context (Dockerfile.linux-arm64, Dockerfile.linux-arm-v7 or Dockerfile.linux-arm,
// ...), then the context's Dockerfile.
func AssignDockerfiles(steps []Step, opts DockerfileOptions) error {
	for p := range opts.FileFor {
		if !slices.ContainsFunc(steps, func(s Step) bool { return s.Platform == p }) {
			return fmt.Errorf("--file-for %s: the build does not include platform %s", p, p)
		}
	}
	local := IsLocalDir(opts.ContextPath)
	for i := range steps {
		s := &steps[i]
		switch f, ok := opts.FileFor[s.Platform]; {
		case ok:
			s.Dockerfile = f
		case opts.File != "":
			s.Dockerfile = opts.File
		case local:
			s.Dockerfile = platformDockerfile(opts.ContextPath, s.Platform)
		case opts.ContextFiles != nil:
			name, err := archiveDockerfile(opts.ContextFiles, s.Platform)
			if err != nil {
				return err
			}
			s.Dockerfile = name
		case opts.RemoteFile != "":
			s.Dockerfile = opts.RemoteFile // inside the remote context: never a local file
		default:
			s.Dockerfile = "Dockerfile"
		}
		if local || opts.FileFor[s.Platform] != "" || opts.File != "" {
			if err := checkFile(s.Dockerfile); err != nil {
				return fmt.Errorf("platform %s: %w", s.Platform, err)
			}
		}
	}
	return nil
}

// PlatformDockerfileNames are the per-platform Dockerfile names looked up for a platform, best first.
func PlatformDockerfileNames(platform string) []string {
	p, err := platforms.Parse(platform)
	if err != nil {
		return nil
	}
	base := "Dockerfile." + p.OS + "-" + p.Architecture
	if p.Variant == "" {
		return []string{base}
	}
	return []string{base + "-" + p.Variant, base}
}

// archiveDockerfile is the Dockerfile of a platform in a context archive: its per-platform one,
// else "Dockerfile".
func archiveDockerfile(files []string, platform string) (string, error) {
	for _, name := range append(PlatformDockerfileNames(platform), "Dockerfile") {
		if slices.Contains(files, name) {
			return name, nil
		}
	}
	return "", fmt.Errorf("platform %s: the build context from stdin holds no Dockerfile (looked for %s)",
		platform, strings.Join(append(PlatformDockerfileNames(platform), "Dockerfile"), ", "))
}

func platformDockerfile(dir, platform string) string {
	for _, name := range PlatformDockerfileNames(platform) {
		path := filepath.Join(dir, name)
		if st, err := os.Stat(path); err == nil && !st.IsDir() {
			return path
		}
	}
	return filepath.Join(dir, "Dockerfile")
}

func checkFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("Dockerfile %s: %w", path, err)
	}
	if st.IsDir() {
		return fmt.Errorf("Dockerfile %s is a directory", path)
	}
	return nil
}

// IsLocalDir reports whether a build context is a local directory (not a URL, a git remote or stdin).
func IsLocalDir(path string) bool {
	if path == "-" || urlutil.IsRemoteURL(path) {
		return false
	}
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}
