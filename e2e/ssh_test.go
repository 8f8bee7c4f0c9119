//go:build e2e

package e2e

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// withSSH gives the docker CLI (and the ssh it starts for ssh:// endpoints) an ssh configuration of
// the test's own: the farm's client key and a known_hosts file that holds the farm sshd's host key
// only when trustHost is set. ssh reads ~/.ssh from the passwd entry, not $HOME, so the test puts a
// small ssh in front of the real one on PATH that adds -F with its config file.
func (c *cli) withSSH(trustHost bool) *cli {
	c.t.Helper()
	dir := c.t.TempDir()
	u, err := url.Parse(farm.SSH)
	if err != nil {
		c.t.Fatal(err)
	}
	knownHosts := filepath.Join(dir, "known_hosts")
	var known string
	if trustHost {
		key, err := os.ReadFile(farm.SSHHostKey)
		if err != nil {
			c.t.Fatal(err)
		}
		f := strings.Fields(string(key))
		known = fmt.Sprintf("[%s]:%s %s %s\n", u.Hostname(), u.Port(), f[0], f[1])
	}
	config := fmt.Sprintf(`Host *
  IdentityFile %s
  IdentitiesOnly yes
  UserKnownHostsFile %s
  GlobalKnownHostsFile /dev/null
  BatchMode yes
`, farm.SSHKey, knownHosts)
	realSSH, err := exec.LookPath("ssh")
	if err != nil {
		c.t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	for path, data := range map[string]string{
		knownHosts:                       known,
		filepath.Join(dir, "ssh_config"): config,
		filepath.Join(bin, "ssh"):        fmt.Sprintf("#!/bin/sh\nexec %s -F %s \"$@\"\n", realSSH, filepath.Join(dir, "ssh_config")),
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			c.t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o755); err != nil {
			c.t.Fatal(err)
		}
	}
	cp := *c
	cp.env = append(append([]string{}, c.env...), "PATH="+bin+":"+os.Getenv("PATH"))
	return &cp
}
