package contexts

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/docker-multiarch/docker-multiarch/internal/testtls"
	"github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"
)

// writeTLSFiles writes a fresh self-signed certificate and its key as CA, client certificate
// and key, so that every call gives files of their own.
func writeTLSFiles(t *testing.T, cn string) TLSFiles {
	t.Helper()
	dir := testtls.Write(t, cn)
	return TLSFiles{CA: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, "cert.pem"), Key: filepath.Join(dir, "key.pem")}
}

// storedTLS reads the TLS files of a context's Docker endpoint, by file name.
func storedTLS(t *testing.T, s store.Store, name string) map[string]string {
	t.Helper()
	files, err := s.ListTLSFiles(name)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range files[docker.DockerEndpoint] {
		b, err := s.GetTLSData(name, docker.DockerEndpoint, f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = string(b)
	}
	return out
}

// tlsOf is what the store should hold for files.
func tlsOf(t *testing.T, f TLSFiles) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, path := range map[string]string{"ca.pem": f.CA, "cert.pem": f.Cert, "key.pem": f.Key} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = string(b)
	}
	return out
}

// endpointOf is the Docker endpoint host stored in a context.
func endpointOf(t *testing.T, s store.Store, name string) string {
	t.Helper()
	meta, err := s.GetMetadata(name)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := docker.EndpointFromContext(meta)
	if err != nil {
		t.Fatal(err)
	}
	return ep.Host
}
