package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/cli/cli-plugins/metadata"
	cliplugin "github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"

	"github.com/docker-multiarch/docker-multiarch/internal/pluginmeta"
	"github.com/docker-multiarch/docker-multiarch/plugin"
)

// The metadata short cut must answer byte for byte what docker/cli's own subcommand answers.
func TestMetadataShortCutMatchesDockerCLI(t *testing.T) {
	var ours bytes.Buffer
	if err := plugin.WriteMetadata(&ours, pluginMetadata()); err != nil {
		t.Fatal(err)
	}
	theirs := captureStdout(t, func() {
		dockerCli, err := command.NewDockerCli()
		if err != nil {
			t.Fatal(err)
		}
		root := plugin.NewRootCommand(dockerCli, plugin.BuildInfo{Version: pluginmeta.Version})
		args := os.Args
		os.Args = []string{"docker-multiarch", metadata.MetadataSubcommandName}
		defer func() { os.Args = args }()
		if err := cliplugin.RunPlugin(dockerCli, root, pluginMetadata()); err != nil {
			t.Fatal(err)
		}
	})
	if ours.String() != theirs {
		t.Fatalf("short cut wrote\n%s\ndocker/cli writes\n%s", ours.String(), theirs)
	}
	if !bytes.Contains(ours.Bytes(), []byte(`"Vendor": "`+plugin.Vendor+`"`)) {
		t.Errorf("metadata %s lacks the vendor %q", ours.String(), plugin.Vendor)
	}
}

func captureStdout(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	func() {
		defer func() { os.Stdout = stdout }()
		f()
	}()
	_ = w.Close()
	return <-done
}

// encoded is the metadata document docker/cli's encoder writes for version.
func encoded(t testing.TB, version string) string {
	meta := pluginMetadata()
	meta.Version = version
	var b bytes.Buffer
	if err := plugin.WriteMetadata(&b, meta); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The early answer is docker/cli's, byte for byte, for every version it writes itself; it leaves
// to the encoder the versions JSON must escape, and the empty one (left out of the document).
func TestEarlyDocumentMatchesEncoder(t *testing.T) {
	for _, v := range []string{pluginmeta.Version, "v1.2.3", "a7514c7-dirty", "v1.0.0+build.5", "<&>", "", `a"b`, `a\\b`, "caf\u00e9", "a\u2028b", "tab\there", "del\x7f"} {
		doc, ok := pluginmeta.Document(v)
		want := encoded(t, v)
		if ok && doc != want {
			t.Errorf("version %q: early answer\n%s\nencoder\n%s", v, doc, want)
		}
		if plainVersion := v != "" && !strings.ContainsAny(v, "\"\\\t\x7f") && strings.IndexFunc(v, func(r rune) bool { return r > 0x7e }) < 0; ok != plainVersion {
			t.Errorf("version %q: early answer given = %v, want %v", v, ok, plainVersion)
		}
	}
}

func FuzzEarlyDocumentMatchesEncoder(f *testing.F) {
	for _, v := range []string{"v1.2.3", "<&>", "\u2028", "\xff", "a\"b"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if doc, ok := pluginmeta.Document(v); ok && doc != encoded(t, v) {
			t.Fatalf("version %q: early answer\n%s\nencoder\n%s", v, doc, encoded(t, v))
		}
	})
}

// The metadata call is answered while the program starts: the test binary, which links package
// early as the plugin does, run with the metadata argument prints docker/cli's document and exits
// before any package of the Docker CLI, buildx or BuildKit initialises (Go's own init trace).
func TestMetadataAnsweredBeforeHeavyPackagesInitialise(t *testing.T) {
	if os.Getenv("MULTIARCH_TEST_EARLY_METADATA_CHILD") != "" {
		t.Skip("the child run: early did not answer, and the test binary ran its tests instead")
	}
	if _, ok := pluginmeta.Document(pluginmeta.Version); !ok {
		t.Skipf("the linked version %q needs JSON escaping: main answers, with docker/cli's encoder", pluginmeta.Version)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], metadata.MetadataSubcommandName)
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1", "MULTIARCH_TEST_EARLY_METADATA_CHILD=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if want := encoded(t, pluginmeta.Version); string(out) != want {
		t.Fatalf("metadata call printed\n%s\nwant\n%s", out, want)
	}
	var inits []string // "init PKG @0.5 ms, ..." per package
	for _, l := range strings.Split(stderr.String(), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "init" {
			inits = append(inits, f[1])
		}
	}
	for _, heavy := range heavyInits {
		if slices.Contains(inits, heavy) {
			t.Errorf("%s initialised before the metadata was answered (%d packages did)", heavy, len(inits))
		}
	}
	if len(inits) == 0 || len(inits) > 60 {
		t.Errorf("%d packages initialised before the answer, want the few os needs: %v", len(inits), inits)
	}
}
