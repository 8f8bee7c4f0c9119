//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// filesHolding lists the files under dir whose content or name holds s.
func filesHolding(t *testing.T, dir, s string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.Contains(d.Name(), s) {
			out = append(out, path)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(s)) {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// addProxyConfig adds a "proxies" block to the CLI's config.json, keeping what it holds.
func (c *cli) addProxyConfig(proxies map[string]any) {
	c.t.Helper()
	path := filepath.Join(c.config, "config.json")
	cfg := map[string]any{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &cfg); err != nil {
			c.t.Fatalf("%s: %v", path, err)
		}
	} else if !os.IsNotExist(err) {
		c.t.Fatal(err)
	}
	cfg["proxies"] = proxies
	b, err := json.MarshalIndent(cfg, "", "\t")
	if err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		c.t.Fatal(err)
	}
}

// Secrets given to the plugin (endpoint credentials, cache keys, proxy passwords) are never
// printed, stored or baked into an image's provenance.
func TestSecretsNeverPrinted(t *testing.T) {
	c := newCLI(t).withBuildx()

	// Credentials in an endpoint URL are refused, never echoed, never stored.
	const token = "tok3n-secret"
	for _, args := range [][]string{
		{"--host", "tcp://user:" + token + "@127.0.0.1:2376"},
		{"--host", "tcp://user:" + token + "@127.0.0.1:2376", "--platform", "linux/amd64"}, // no probe: still refused
		{"--host", "tcp://" + token + "@127.0.0.1:2376", "--platform", "linux/amd64"},
		{"--host", "ssh://user:" + token + "@127.0.0.1:2222", "--platform", "linux/amd64"},
	} {
		res := c.run(time.Minute, append([]string{"multiarch", "node", "add", "leak"}, args...)...)
		if res.ExitCode == 0 {
			t.Errorf("node add leak %s succeeded", strings.Join(args, " "))
		}
		if strings.Contains(res.Combined(), token) {
			t.Errorf("node add leak %s printed the token: %q", strings.Join(args, " "), res.Combined())
		}
		if !strings.Contains(res.Stderr, "credentials") {
			t.Errorf("node add leak %s: %q; want an error saying endpoints take no credentials", strings.Join(args, " "), res.Stderr)
		}
	}
	if slices.Contains(c.contextNames(), "leak") {
		t.Error("a context named leak exists")
	}
	if _, ok := c.nodes()["leak"]; ok {
		t.Error("a node named leak exists")
	}
	if files := filesHolding(t, c.config, token); len(files) != 0 {
		t.Errorf("the token is stored in %v", files)
	}

	// Proxy credentials in the Docker config: written before the builder is made, so that buildx
	// reads them.
	const proxyPass = "pp4ss-secret"
	c.addProxyConfig(map[string]any{"default": map[string]any{
		"httpProxy": "http://puser:" + proxyPass + "@127.0.0.1:3128",
		"noProxy":   "127.0.0.1,localhost",
	}})
	c.ok(time.Minute, "multiarch", "node", "add", "farm-a", "--host", farm.EngineA)
	builder := fmt.Sprintf("s%d", time.Now().UnixNano())
	c.removeBuilderAtCleanup(builder)
	c.ok(3*time.Minute, slices.Concat([]string{"multiarch", "create", builder, "--node", "farm-a"}, farmDriverOpts())...)
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nCOPY data /data\n", "data": "proxied\n"})

	// Cache keys are never echoed, whether the value is refused here or by BuildKit.
	const keyID, secretKey = "AKIAEXAMPLE", "sEcReT123"
	for _, args := range [][]string{
		// Accepted here, refused by BuildKit (its S3 endpoint is a closed loopback port).
		{"--cache-to", "type=s3,region=x,bucket=b,access_key_id=" + keyID + ",secret_access_key=" + secretKey +
			",endpoint_url=http://127.0.0.1:1,use_path_style=true,bad"},
		{"--cache-to", `type=s3,access_key_id=` + keyID + `,secret_access_key=` + secretKey + `,bucket="unterminated`},
		{"--cache-from", "bucket=b,access_key_id=" + keyID + ",secret_access_key=" + secretKey},
		{"--cache-to", "type=gha,token=" + secretKey + ",url=http://" + keyID + ":" + secretKey + "@127.0.0.1:1/"},
	} {
		res := c.run(5*time.Minute, append([]string{"multiarch", "build", "--builder", builder, "--platform", "linux/amd64",
			"--progress", "plain", "--timeout", "20s", dir}, args...)...)
		if res.ExitCode == 0 {
			t.Errorf("build %s succeeded", strings.Join(args, " "))
		}
		for _, s := range []string{secretKey, keyID} {
			if strings.Contains(res.Combined(), s) {
				t.Errorf("build %s printed %s:\n%s", strings.Join(args, " "), s, tail(res.Combined(), 1500))
			}
		}
		t.Logf("build %s: exit %d, %s", strings.Join(args, " "), res.ExitCode, tail(strings.TrimSpace(res.Stderr), 300))
	}

	// A build with the proxy in the config: the proxy is named without its password, which is in
	// neither the output, the build args BuildKit records, nor the provenance.
	repo := uniqueRepo("proxy-secret")
	ref := farm.Registry + "/" + repo + ":v1"
	res := c.ok(10*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64", "--provenance", "mode=max",
		"-t", ref, "--push", "--progress", "plain", dir)
	if strings.Contains(res.Combined(), proxyPass) {
		t.Errorf("the build printed the proxy password:\n%s", res.Combined())
	}
	if !regexpLine(res.Stderr, "WARNING", "127.0.0.1:3128") {
		t.Errorf("no warning naming the proxy whose credentials were left out:\n%s", tail(res.Stderr, 800))
	}
	reg := c.reg()
	idx := reg.index(repo, "v1")
	var statements [][]byte
	for _, m := range idx.Manifests {
		if m.Annotations["vnd.docker.reference.type"] != "attestation-manifest" {
			continue
		}
		for _, l := range reg.manifest(repo, m.Digest.String()).Layers {
			body, _ := reg.get(fmt.Sprintf("/v2/%s/blobs/%s", repo, l.Digest), "")
			statements = append(statements, body)
			t.Logf("attestation layer %s (%s, predicate %s): %d bytes", l.Digest, l.MediaType, l.Annotations["in-toto.io/predicate-type"], len(body))
		}
	}
	if len(statements) == 0 {
		t.Fatalf("no attestation in %s: %+v", ref, idx)
	}
	for _, st := range statements {
		if bytes.Contains(st, []byte(proxyPass)) {
			t.Errorf("the provenance holds the proxy password:\n%s", st)
		}
		var statement struct {
			PredicateType string `json:"predicateType"`
		}
		if err := json.Unmarshal(st, &statement); err != nil || !strings.Contains(statement.PredicateType, "provenance") {
			t.Errorf("not a provenance statement (%v): %.300s", err, st)
		}
		for _, key := range []string{"HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "127.0.0.1:3128", "puser"} {
			t.Logf("provenance contains %s: %v", key, bytes.Contains(st, []byte(key)))
		}
	}
	// BuildKit's own record of the build (frontend attributes, build args) on the node.
	hist := c.withHost(farm.EngineA).ok(time.Minute, "exec", "buildx_buildkit_"+builder+"-farm-a",
		"buildctl", "debug", "histories", "--format", "{{json .}}").Stdout
	if strings.Contains(hist, proxyPass) {
		t.Errorf("BuildKit's build history on farm-a holds the proxy password")
	}
	t.Logf("BuildKit's history records HTTP_PROXY: %v, 127.0.0.1:3128: %v", strings.Contains(hist, "HTTP_PROXY"), strings.Contains(hist, "127.0.0.1:3128"))
	// What buildx itself gave the BuildKit container (not the plugin's doing: reported, not failed).
	env := c.withHost(farm.EngineA).ok(time.Minute, "inspect", "--format", "{{json .Config.Env}}", "buildx_buildkit_"+builder+"-farm-a").Stdout
	t.Logf("the BuildKit container's env holds the proxy password: %v", strings.Contains(env, proxyPass))
	// Nothing the plugin stored holds the password, beyond the config.json it was read from.
	var stored []string
	for _, f := range filesHolding(t, c.config, proxyPass) {
		if f != filepath.Join(c.config, "config.json") {
			stored = append(stored, f)
		}
	}
	if len(stored) != 0 {
		t.Errorf("the proxy password is stored in %v", stored)
	}
}
