package contexts

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/docker/cli/cli/context/store"

	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// BuildKitEndpointName is the endpoint of a BuildKit node's context: the daemon's address, and its
// TLS files kept by the context store as it keeps a Docker endpoint's (0600, in a 0700 directory).
// The context has no Docker endpoint, so `docker context ls` lists it without one.
const BuildKitEndpointName = "buildkit"

// The names of a BuildKit endpoint's TLS files in the context store (those of a Docker endpoint).
const (
	caFile   = "ca.pem"
	certFile = "cert.pem"
	keyFile  = "key.pem"
)

// BuildKitEndpoint is the stored metadata of a BuildKit node's endpoint.
type BuildKitEndpoint struct {
	Host       string `json:",omitempty"` // tcp://HOST:PORT or unix:///PATH
	ServerName string `json:",omitempty"` // the TLS server name, when it is not the host's
}

// BuildKitTarget is how to reach a BuildKit daemon: its address, the TLS server name and the paths
// of its TLS files (none without TLS). buildx's remote driver and BuildKit's client read the files.
type BuildKitTarget struct {
	Host       string
	ServerName string
	CA         string
	Cert, Key  string
}

// TLS reports whether the daemon is reached over TLS.
func (t BuildKitTarget) TLS() bool { return t.CA != "" }

// BuildKitInfo is what a BuildKit daemon reports about itself.
type BuildKitInfo struct {
	Version string `json:"version,omitempty"`
	// Platforms are every platform its workers build, the native one first.
	Platforms []string `json:"platforms,omitempty"`
	// Emulated are those of Platforms of another architecture than the native one (under QEMU, or a
	// compatible CPU mode such as 386 on amd64).
	Emulated []string `json:"emulated,omitempty"`
}

// NewBuildKitInfo normalizes what a daemon's workers report: the first platform is the native one
// (BuildKit lists it first), the others of another architecture are marked emulated. Platforms that
// do not parse as node platforms are left out.
func NewBuildKitInfo(version string, workerPlatforms []string) (BuildKitInfo, error) {
	info := BuildKitInfo{Version: version}
	var native string
	for _, s := range workerPlatforms {
		p, err := platforms.Parse(s)
		if err != nil {
			continue
		}
		f := platforms.Format(platforms.Normalize(p))
		if slices.Contains(info.Platforms, f) {
			continue
		}
		info.Platforms = append(info.Platforms, f)
		if native == "" {
			native = p.Architecture
		} else if p.Architecture != native {
			info.Emulated = append(info.Emulated, f)
		}
	}
	if len(info.Platforms) == 0 {
		return info, fmt.Errorf("BuildKit reports no worker platforms (%s)", strings.Join(workerPlatforms, ", "))
	}
	if _, err := ParsePlatform(info.Platforms[0]); err != nil {
		return info, fmt.Errorf("BuildKit's native platform: %w", err)
	}
	return info, nil
}

// Native is the daemon's native platform.
func (i BuildKitInfo) Native() string {
	if len(i.Platforms) == 0 {
		return ""
	}
	return i.Platforms[0]
}

// ValidateBuildKitHost checks a BuildKit address: tcp://HOST:PORT or unix:///PATH, without
// credentials. Errors show the address redacted.
func ValidateBuildKitHost(host string) error {
	h := redact.URL(host)
	scheme, rest, ok := strings.Cut(host, "://")
	if !ok || (scheme != "tcp" && scheme != "unix") {
		return fmt.Errorf("invalid BuildKit address %q: want tcp://HOST:PORT or unix:///PATH (the address buildkitd listens on, as its --addr)", h)
	}
	if _, creds := redact.Userinfo(host); creds || strings.Contains(strings.SplitN(rest, "/", 2)[0], "@") {
		return fmt.Errorf("invalid BuildKit address %q: BuildKit endpoints take no credentials in the URL (use --tls-cacert, --tls-cert, --tls-key)", h)
	}
	if scheme == "unix" {
		if strings.Trim(rest, "/") == "" {
			return fmt.Errorf("invalid BuildKit address %q: unix:// needs a path", h)
		}
		return nil
	}
	if err := validateTCP(host); err != nil {
		return fmt.Errorf("BuildKit: %w", err)
	}
	return nil
}

// buildKitTLS reads and checks the TLS files a BuildKit node is added with: a CA (which TLS needs:
// buildx's remote driver verifies the daemon) and, for mutual TLS, a certificate and key together.
func buildKitTLS(host string, files TLSFiles, serverName string) (*store.EndpointTLSData, error) {
	h := redact.URL(host)
	switch {
	case files.empty() && serverName == "":
		return nil, nil
	case files.SkipVerify:
		return nil, errors.New("--tls-skip-verify does not apply to BuildKit nodes: give the daemon's CA with --tls-cacert")
	case !strings.HasPrefix(host, "tcp://"):
		return nil, fmt.Errorf("TLS options apply to tcp:// BuildKit addresses only, not %q", h)
	case files.CA == "":
		return nil, fmt.Errorf("BuildKit at %s: TLS needs the daemon's CA (--tls-cacert)", h)
	case (files.Cert == "") != (files.Key == ""):
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	data := &store.EndpointTLSData{Files: map[string][]byte{}}
	for name, path := range map[string]string{caFile: files.CA, certFile: files.Cert, keyFile: files.Key} {
		if path == "" {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading TLS files for %s: %w", h, err)
		}
		data.Files[name] = b
	}
	if !x509.NewCertPool().AppendCertsFromPEM(data.Files[caFile]) {
		return nil, fmt.Errorf("--tls-cacert %s: no PEM certificate in it", files.CA)
	}
	if files.Cert != "" {
		if _, err := tls.X509KeyPair(data.Files[certFile], data.Files[keyFile]); err != nil {
			return nil, fmt.Errorf("--tls-cert %s and --tls-key %s: %w", files.Cert, files.Key, err)
		}
	}
	return data, nil
}

// givenTarget is the target a BuildKit node is probed at before it is stored: the TLS files as
// the user gave them, made absolute.
func givenTarget(host, serverName string, files TLSFiles) (BuildKitTarget, error) {
	t := BuildKitTarget{Host: host, ServerName: serverName}
	for _, f := range []struct {
		dst *string
		src string
	}{{&t.CA, files.CA}, {&t.Cert, files.Cert}, {&t.Key, files.Key}} {
		if f.src == "" {
			continue
		}
		abs, err := filepath.Abs(f.src)
		if err != nil {
			return t, err
		}
		*f.dst = abs
	}
	return t, nil
}

// buildKitEndpointOf reads a context's BuildKit endpoint.
func buildKitEndpointOf(meta store.Metadata) (BuildKitEndpoint, error) {
	var ep BuildKitEndpoint
	raw, ok := meta.Endpoints[BuildKitEndpointName]
	if !ok {
		return ep, fmt.Errorf("context %q has no %s endpoint", meta.Name, BuildKitEndpointName)
	}
	if typed, ok := raw.(BuildKitEndpoint); ok {
		return typed, nil
	}
	if err := remarshal(raw, &ep); err != nil {
		return ep, fmt.Errorf("context %q: %s endpoint: %w", meta.Name, BuildKitEndpointName, err)
	}
	return ep, nil
}

// BuildKitTarget is how to reach a stored BuildKit node: its address, and its TLS files where the
// context store keeps them.
func (n *Nodes) BuildKitTarget(name string) (BuildKitTarget, error) {
	meta, err := n.store.GetMetadata(name)
	if err != nil {
		return BuildKitTarget{}, fmt.Errorf("node %q: %w", name, err)
	}
	ep, err := buildKitEndpointOf(meta)
	if err != nil {
		return BuildKitTarget{}, err
	}
	t := BuildKitTarget{Host: ep.Host, ServerName: ep.ServerName}
	files, err := n.store.ListTLSFiles(name)
	if err != nil {
		return t, fmt.Errorf("node %q: TLS files: %w", name, err)
	}
	dir := filepath.Join(n.store.GetStorageInfo(name).TLSPath, BuildKitEndpointName)
	return t.withTLSFiles(dir, files[BuildKitEndpointName]), nil
}

// withTLSFiles sets the paths of the target's TLS files (ca.pem, cert.pem, key.pem of files) in dir.
func (t BuildKitTarget) withTLSFiles(dir string, files []string) BuildKitTarget {
	for _, f := range files {
		switch f {
		case caFile:
			t.CA = filepath.Join(dir, f)
		case certFile:
			t.Cert = filepath.Join(dir, f)
		case keyFile:
			t.Key = filepath.Join(dir, f)
		}
	}
	return t
}

func (d Data) clone() Data {
	d.Platforms = slices.Clone(d.Platforms)
	if d.BuildKit != nil {
		b := *d.BuildKit
		b.Platforms, b.Emulated = slices.Clone(b.Platforms), slices.Clone(b.Emulated)
		d.BuildKit = &b
	}
	return d
}
