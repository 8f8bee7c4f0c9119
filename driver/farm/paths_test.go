package farm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A farm file reads its TLS files and buildkitd configs only below its folder: a symlink or ".."
// out of it (to ~/.ssh, ~/.docker) is refused before anything is read, naming the entry, the key,
// the real path and the --allow flag; --allow fs.read grants it.
func TestFarmFileReadsOnlyBelowItsFolder(t *testing.T) {
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir, home := filepath.Join(root, "repo"), filepath.Join(root, "home")
	for _, d := range []string{filepath.Join(dir, "certs"), filepath.Join(home, ".ssh")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(dir, "certs", "ca.pem"), filepath.Join(home, ".ssh", "id_rsa")} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "buildkitd.toml"), []byte("debug = true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(home, ".ssh"), filepath.Join(dir, "certs", "evil")); err != nil {
		t.Fatal(err)
	}
	load := func(tls, config string, allow ...string) error {
		data := "nodes: [{name: nn, host: 'tcp://127.0.0.1:2376', platforms: [linux/amd64], tls: " + tls + "}]\n" +
			"builders: [{name: m, buildkitd-config: '" + config + "'}]\n"
		path := filepath.Join(dir, "multiarch.yaml")
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path, nil, allow)
		return err
	}
	if err := load("{ca: certs/ca.pem}", "buildkitd.toml"); err != nil {
		t.Fatalf("inside: %v", err)
	}
	key := filepath.Join(home, ".ssh", "id_rsa")
	for name, tc := range map[string]struct{ tls, config, want string }{
		"a link, then ..": {"{ca: certs/ca.pem, cert: certs/ca.pem, key: certs/evil/../.ssh/id_rsa}", "buildkitd.toml", `tls.key "certs/evil/../.ssh/id_rsa" is ` + key},
		"through a link":  {"{ca: certs/evil/id_rsa}", "buildkitd.toml", `nodes[0] (nn): tls.ca "certs/evil/id_rsa" is ` + key},
		"..":              {"{ca: certs/ca.pem}", "../home/.ssh/id_rsa", `builders[0] (m): buildkitd-config "../home/.ssh/id_rsa" is ` + key},
		"absolute":        {"{ca: '" + key + "'}", "buildkitd.toml", "--allow=fs.read=" + key},
	} {
		err := load(tc.tls, tc.config)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "multiarch.yaml") {
			t.Errorf("%s: %v\nwant it to name %s", name, err, tc.want)
		}
	}
	if err := load("{ca: certs/evil/id_rsa}", "buildkitd.toml", "fs.read="+filepath.Join(home, ".ssh")); err != nil {
		t.Errorf("granted: %v", err)
	}
	if err := load("{ca: certs/evil/id_rsa}", "buildkitd.toml", "fs=*"); err != nil {
		t.Errorf("fs=*: %v", err)
	}
	if err := load("{ca: certs/ca.pem}", "buildkitd.toml", "network.host"); err == nil || !strings.Contains(err.Error(), `"network.host"`) {
		t.Errorf("an --allow apply does not take: %v", err)
	}
	big := strings.NewReader("nodes: []\n" + strings.Repeat("#", maxFileSize))
	if _, err := Load("-", big, nil); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a huge farm file: %v", err)
	}
}
