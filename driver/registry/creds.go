package registry

import (
	"bytes"
	"context"
	"os"
	"sync"
	"time"

	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/credentials"
	"github.com/docker/cli/cli/config/types"
	"github.com/moby/buildkit/session/auth/authprovider"

	"github.com/docker-multiarch/docker-multiarch/internal/bounded"
)

// credsTTL is how long credentials asked of a credential helper are used before it is asked
// again. The config file itself is read again as soon as it changes (a `docker login` while a
// build runs counts from then on).
const credsTTL = time.Minute

// maxConfigFile caps a re-read of the Docker config file.
const maxConfigFile = 8 << 20

// Credentials is the credentials Docker would use, read when they are needed rather than once
// at the start: a long build's push and publish use what the config file and its helpers say at
// that moment. It is what the registry client and every build's BuildKit session ask.
func Credentials(cfg *configfile.ConfigFile) authprovider.AuthConfigProvider {
	c := &creds{base: cfg, ttl: credsTTL, now: time.Now, cache: map[string]credsEntry{}}
	return c.load
}

type creds struct {
	mu    sync.Mutex
	base  *configfile.ConfigFile // as the CLI loaded it: the fallback when the file cannot be read again
	ttl   time.Duration
	now   func() time.Time
	cache map[string]credsEntry
	file  fileState // the config file as last read
	cfg   *configfile.ConfigFile
}

type credsEntry struct {
	ac   types.AuthConfig
	at   time.Time
	file fileState
}

// fileState tells whether the config file changed since it was read.
type fileState struct {
	mod  time.Time
	size int64
	ok   bool
}

func (c *creds) load(_ context.Context, host string, _ []string, expired authprovider.ExpireCachedAuthCheck) (types.AuthConfig, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cfg, st := c.current()
	e, ok := c.cache[host]
	if ok && e.file == st && c.now().Sub(e.at) < c.ttl && (expired == nil || !expired(e.at, host)) {
		return e.ac, nil
	}
	key := host
	if host == authprovider.DockerHubRegistryHost {
		key = authprovider.DockerHubConfigfileKey
	}
	ac, err := cfg.GetAuthConfig(key)
	if err != nil {
		return types.AuthConfig{}, err
	}
	c.cache[host] = credsEntry{ac: ac, at: c.now(), file: st}
	return ac, nil
}

// current is the config as the file says now: read again when its time or size changed; the
// CLI's own when it has no file or the file cannot be read (as the CLI itself falls back).
func (c *creds) current() (*configfile.ConfigFile, fileState) {
	if c.base.Filename == "" {
		return c.base, fileState{}
	}
	st := statFile(c.base.Filename)
	if c.cfg != nil && st == c.file {
		return c.cfg, st
	}
	c.cfg, c.file = c.base, st
	if !st.ok {
		return c.cfg, st
	}
	data, err := bounded.ReadFile(c.base.Filename, maxConfigFile)
	if err != nil {
		return c.cfg, st
	}
	fresh := configfile.New(c.base.Filename)
	if err := fresh.LoadFromReader(bytes.NewReader(data)); err != nil {
		return c.cfg, st
	}
	if !fresh.ContainsAuth() { // as config.LoadDefaultConfigFile does
		fresh.CredentialsStore = credentials.DetectDefaultStore(fresh.CredentialsStore)
	}
	c.cfg = fresh
	return fresh, st
}

func statFile(path string) fileState {
	fi, err := os.Stat(path)
	if err != nil {
		return fileState{}
	}
	return fileState{mod: fi.ModTime(), size: fi.Size(), ok: true}
}
