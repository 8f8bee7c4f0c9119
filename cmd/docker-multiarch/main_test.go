package main

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/docker/cli/cli-plugins/metadata"
	cliplugin "github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"

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
		root := plugin.NewRootCommand(dockerCli, plugin.BuildInfo{Version: version})
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
