package farm

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/driver/builders"
	"github.com/docker-multiarch/docker-multiarch/internal/testtls"
)

// fakeBuildKit answers for the daemons it knows.
type fakeBuildKit map[string]string // address -> native platform

func (f fakeBuildKit) ProbeBuildKit(_ context.Context, t contexts.BuildKitTarget) (contexts.BuildKitStatus, error) {
	p, ok := f[t.Host]
	if !ok {
		return contexts.BuildKitStatus{}, errors.New("connection refused")
	}
	info, err := contexts.NewBuildKitInfo("v0.34.2", []string{p})
	return contexts.BuildKitStatus{Info: info}, err
}

// A farm file declares BuildKit daemons as node add --buildkit adds them: planned (probed),
// applied, unchanged the second time; a builder over them reaches each with its stored TLS files;
// a new server name is an update that keeps the files.
func TestFarmBuildKitNodes(t *testing.T) {
	tf := newTestFarm(t)
	tf.nodes.WithBuildKitProber(fakeBuildKit{"tcp://10.0.0.9:1234": "linux/arm64"})
	certs := testtls.Write(t, "farm test")
	file := func(servername string) string {
		return `nodes:
  - {name: amd, host: "` + hostA + `"}
  - name: arm-pool
    buildkit: tcp://10.0.0.9:1234
    tls: {ca: ` + filepath.Join(certs, "ca.pem") + `, cert: ` + filepath.Join(certs, "cert.pem") + `, key: ` + filepath.Join(certs, "key.pem") + `, servername: ` + servername + `}
builders:
  - name: mix
`
	}
	p, err := tf.plan(t, file("bk.example"))
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(p.Changes); !slices.Equal(got, []string{"node amd: create", "node arm-pool: create", "builder mix: create"}) {
		t.Errorf("plan %v", got)
	}
	if c := p.Changes[1].Changes; len(c) != 2 || c[0] != "BuildKit daemon tcp://10.0.0.9:1234" || c[1] != "platforms linux/arm64 (detected)" {
		t.Errorf("arm-pool's changes %q", c)
	}
	if _, err := tf.Apply(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	n, err := tf.nodes.Get("arm-pool")
	if err != nil || n.Kind().Engine() || n.Endpoint != "tcp://10.0.0.9:1234" || !slices.Equal(n.Platforms, []string{"linux/arm64"}) {
		t.Fatalf("stored node %+v, %v", n, err)
	}
	stored, err := tf.nodes.BuildKitTarget("arm-pool")
	if err != nil || stored.ServerName != "bk.example" || stored.Key == "" {
		t.Fatalf("stored target %+v, %v", stored, err)
	}
	// The builder was planned with the target the node got once written, and created over it.
	if got := tf.builders.diffed[0].Planned["arm-pool"]; got != stored {
		t.Errorf("planned target %+v, stored %+v", got, stored)
	}
	spec := tf.builders.created[0]
	if i := slices.IndexFunc(spec.Nodes, func(s builders.NodeSpec) bool { return s.Node.Name == "arm-pool" }); i < 0 || spec.Nodes[i].Node.Kind().Engine() {
		t.Errorf("builder nodes %+v", spec.Nodes)
	}

	before := fileState(t, tf.dir)
	if got := actions(tf.apply(t, file("bk.example"))); !slices.Equal(got, []string{"node amd: unchanged", "node arm-pool: unchanged", "builder mix: unchanged"}) {
		t.Errorf("second apply %v", got)
	}
	if changed := changedFiles(before, fileState(t, tf.dir)); len(changed) != 0 {
		t.Errorf("a second apply wrote %v", changed)
	}
	p, err = tf.plan(t, file("other.example"))
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Changes[1]; c.Action != "update" || len(c.Changes) != 1 || !strings.Contains(c.Changes[0], "servername bk.example -> other.example") {
		t.Errorf("new server name: %+v", c)
	}
	if _, err := tf.Apply(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if got, err := tf.nodes.BuildKitTarget("arm-pool"); err != nil || got.ServerName != "other.example" || got.Key == "" {
		t.Errorf("after the update: %+v, %v", got, err)
	}

	// Only the platforms change (the server name as stored): applied, the server name kept.
	withPlatforms := strings.Replace(file("other.example"), "    buildkit:", "    platforms: [linux/arm64, linux/arm/v7]\n    buildkit:", 1)
	if got := actions(tf.apply(t, withPlatforms)); !slices.Equal(got, []string{"node amd: unchanged", "node arm-pool: update", "builder mix: update"}) {
		t.Errorf("platforms change %v", got)
	}
	if got, err := tf.nodes.BuildKitTarget("arm-pool"); err != nil || got.ServerName != "other.example" {
		t.Errorf("after the platforms change: %+v, %v", got, err)
	}
	// The same TLS files without servername keep the stored one: unchanged, and the builder is
	// planned with it (else every apply would rewrite the builder).
	noServerName := strings.Replace(withPlatforms, ", servername: other.example", "", 1)
	if got := actions(tf.apply(t, noServerName)); !slices.Equal(got, []string{"node amd: unchanged", "node arm-pool: unchanged", "builder mix: unchanged"}) {
		t.Errorf("without servername %v", got)
	}
	if got := tf.builders.diffed[len(tf.builders.diffed)-1].Planned["arm-pool"]; got.ServerName != "other.example" {
		t.Errorf("the builder is planned with %+v", got)
	}
}

// A new tcp:// engine node of a farm file gets the TLS files the file names.
func TestFarmCreatesATLSEngineNodeWithItsFiles(t *testing.T) {
	tf := newTestFarm(t)
	certs := testtls.Write(t, "farm test")
	tf.apply(t, `nodes:
  - name: remote
    host: tcp://10.0.0.5:2376
    platforms: [linux/amd64]
    tls: {ca: `+filepath.Join(certs, "ca.pem")+`, cert: `+filepath.Join(certs, "cert.pem")+`, key: `+filepath.Join(certs, "key.pem")+`}
`)
	files, err := tf.store.ListTLSFiles("remote")
	if err != nil || len(files["docker"]) != 3 {
		t.Errorf("the node's TLS files: %v, %v", files, err)
	}
}
