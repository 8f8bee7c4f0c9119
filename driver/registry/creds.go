package registry

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/credentials"
	"github.com/docker/cli/cli/config/types"
	"github.com/moby/buildkit/session/auth/authprovider"

	"github.com/docker-multiarch/docker-multiarch/internal/bounded"
	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
)

// credsTTL is how long credentials asked of a credential helper are used before it is asked
// again. The config file itself is read again as soon as it changes (a `docker login` while a
// build runs counts from then on).
const credsTTL = time.Minute

// helperTimeout bounds one ask of a credential helper (docker/cli's runs it without a limit).
const helperTimeout = 30 * time.Second

// maxConfigFile caps a re-read of the Docker config file.
const maxConfigFile = 8 << 20

// Credentials is the credentials Docker would use, read when they are needed rather than once
// at the start: a long build's push and publish use what the config file and its helpers say at
// that moment. It is what the registry client and every build's BuildKit session ask. Each host
// is asked on its own: a slow helper for one registry holds up no other.
func Credentials(cfg *configfile.ConfigFile) authprovider.AuthConfigProvider {
	return newCredsOf(cfg).load
}

func newCredsOf(cfg *configfile.ConfigFile) *creds {
	return &creds{base: cfg, ttl: credsTTL, wait: helperTimeout, now: time.Now, hosts: map[string]*hostCreds{}}
}

// configKey is the key of a host's credentials in the config (Docker Hub's, as BuildKit asks).
func configKey(host string) string {
	if host == authprovider.DockerHubRegistryHost {
		return authprovider.DockerHubConfigfileKey
	}
	return host
}

// helperFor is the credential helper the config names for host alone (credHelpers), "" for none:
// such helpers mint their own short-lived tokens and are asked again (credsTTL).
func (c *creds) helperFor(host string) string {
	cfg, _ := c.current()
	return cfg.CredentialHelpers[configKey(host)]
}

type creds struct {
	base *configfile.ConfigFile // as the CLI loaded it: used until the file is first read again
	ttl  time.Duration
	wait time.Duration // bounds one ask (helperTimeout)
	now  func() time.Time

	mu    sync.Mutex // guards what follows; never held while a helper runs
	hosts map[string]*hostCreds
	file  fileState              // the config file as last read
	cfg   *configfile.ConfigFile // the last good read of it (nil: none yet)
}

// hostCreds are one host's credentials, asked of the config one at a time.
type hostCreds struct {
	mu   sync.Mutex
	ac   types.AuthConfig
	at   time.Time
	file fileState
	ok   bool
}

// fileState tells whether the config file changed since it was read: another file (docker
// login writes a new one and renames it), another time or size.
type fileState struct {
	info os.FileInfo
}

func (a fileState) same(b fileState) bool {
	if a.info == nil || b.info == nil {
		return a.info == nil && b.info == nil
	}
	return os.SameFile(a.info, b.info) && a.info.ModTime().Equal(b.info.ModTime()) && a.info.Size() == b.info.Size()
}

func (c *creds) load(ctx context.Context, host string, _ []string, expired authprovider.ExpireCachedAuthCheck) (types.AuthConfig, error) {
	return deadline.Value(ctx, c.wait, func(context.Context) (types.AuthConfig, error) {
		return c.loadHost(host, expired)
	})
}

func (c *creds) loadHost(host string, expired authprovider.ExpireCachedAuthCheck) (types.AuthConfig, error) {
	h := c.host(host)
	h.mu.Lock()
	defer h.mu.Unlock()
	cfg, st := c.current()
	if h.ok && h.file.same(st) && c.now().Sub(h.at) < c.ttl && (expired == nil || !expired(h.at, host)) {
		return h.ac, nil
	}
	ac, err := cfg.GetAuthConfig(configKey(host)) // may run a credential helper
	if err != nil {
		return types.AuthConfig{}, fmt.Errorf("credentials for %s: %w", host, err)
	}
	h.ac, h.at, h.file, h.ok = ac, c.now(), st, true
	return ac, nil
}

func (c *creds) host(name string) *hostCreds {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.hosts[name]
	if h == nil {
		h = &hostCreds{}
		c.hosts[name] = h
	}
	return h
}

// current is the config as the file says now: read again when it changed. A file that is gone,
// not a regular file, too large or unparsable leaves the last good read (the CLI's own until the
// file was read once): a half-written file never brings back older credentials.
func (c *creds) current() (*configfile.ConfigFile, fileState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	good := c.cfg
	if good == nil {
		good = c.base
	}
	if c.base.Filename == "" {
		return good, fileState{}
	}
	st := statFile(c.base.Filename)
	if st.same(c.file) {
		return good, st
	}
	c.file = st
	if st.info == nil {
		return good, st
	}
	data, err := bounded.ReadFile(c.base.Filename, maxConfigFile)
	if err != nil {
		return good, st
	}
	fresh := configfile.New(c.base.Filename)
	if err := fresh.LoadFromReader(bytes.NewReader(data)); err != nil {
		return good, st
	}
	if !fresh.ContainsAuth() { // as config.LoadDefaultConfigFile does
		fresh.CredentialsStore = credentials.DetectDefaultStore(fresh.CredentialsStore)
	}
	c.cfg = fresh
	return fresh, st
}

// statFile is the config file's state; nothing when it is missing or not a regular file (a FIFO
// would block its read).
func statFile(path string) fileState {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return fileState{}
	}
	return fileState{info: fi}
}
