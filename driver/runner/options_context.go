package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/docker-multiarch/docker-multiarch/internal/redact"
	"github.com/docker/buildx/util/urlutil"
)

// parseContext checks the build context: stdin, a remote URL as buildx recognizes them (with
// RemoteFile, the Dockerfile inside it), or a local folder.
func (p *parsed) parseContext() error {
	if p.ContextPath == "" {
		return errors.New("a build context is required: PATH, URL or -")
	}
	if p.ContextPath == "-" {
		return nil // read by Build before planning
	}
	if urlutil.IsRemoteURL(p.ContextPath) {
		if f := p.RemoteFile; f != "" && (!filepath.IsLocal(filepath.FromSlash(f)) || strings.ContainsFunc(f, unicode.IsControl)) {
			return fmt.Errorf("invalid Dockerfile path %q inside the remote context: give a relative path within it", f)
		}
		return nil // a git or HTTP(S) context, as buildx recognizes them
	}
	if p.RemoteFile != "" {
		return fmt.Errorf("a Dockerfile path inside the context (%q) is only for a remote context", p.RemoteFile)
	}
	st, err := os.Stat(p.ContextPath)
	if err != nil {
		return fmt.Errorf("build context %s: %w", redact.URL(p.ContextPath), err)
	}
	if !st.IsDir() {
		return fmt.Errorf("build context %s is not a directory", redact.URL(p.ContextPath))
	}
	return nil
}
