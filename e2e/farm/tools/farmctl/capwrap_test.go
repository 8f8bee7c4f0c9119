package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestDropCapabilityFromBundleConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	spec := `{"ociVersion":"1.0.2","process":{"args":["sh"],"capabilities":{
		"bounding":["CAP_CHOWN","CAP_SYS_RESOURCE"],"effective":["CAP_SYS_RESOURCE","CAP_KILL"],
		"permitted":["CAP_KILL"]}},"root":{"path":"rootfs"}}`
	if err := os.WriteFile(path, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := dropCapability(path); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Process struct {
			Args         []string            `json:"args"`
			Capabilities map[string][]string `json:"capabilities"`
		} `json:"process"`
		Root struct{ Path string } `json:"root"`
	}
	readJSON(t, path, &got)
	want := map[string][]string{"bounding": {"CAP_CHOWN"}, "effective": {"CAP_KILL"}, "permitted": {"CAP_KILL"}}
	for k, v := range want {
		if !slices.Equal(got.Process.Capabilities[k], v) {
			t.Errorf("%s = %v, want %v", k, got.Process.Capabilities[k], v)
		}
	}
	if got.Root.Path != "rootfs" || !slices.Equal(got.Process.Args, []string{"sh"}) {
		t.Errorf("other fields changed: %+v", got)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode changed to %v", st.Mode())
	}
}

func TestDropCapabilityFromExecProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "process.json")
	if err := os.WriteFile(path, []byte(`{"args":["ls"],"capabilities":{"bounding":["CAP_SYS_RESOURCE"]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := dropCapability(path); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Capabilities map[string][]string `json:"capabilities"`
	}
	readJSON(t, path, &got)
	if len(got.Capabilities["bounding"]) != 0 {
		t.Errorf("bounding = %v, want empty", got.Capabilities["bounding"])
	}
}

func TestDropCapabilityLeavesOtherSpecsAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	orig := []byte(`{"process": {"capabilities": {"bounding": ["CAP_CHOWN"]}}}`)
	if err := os.WriteFile(path, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := dropCapability(path); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != string(orig) {
		t.Errorf("rewrote a spec without the capability: %s", b)
	}
}

func TestFlagValue(t *testing.T) {
	args := []string{"--root", "/r", "create", "--bundle", "/b", "--process=/p.json", "-b"}
	for _, tc := range []struct {
		i          int
		name, want string
		wantOK     bool
	}{
		{3, "bundle", "/b", true},
		{5, "process", "/p.json", true},
		{0, "bundle", "", false},
		{6, "b", "", false}, // a trailing flag without a value
	} {
		got, ok := flagValue(args, tc.i, args[tc.i], tc.name)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("flagValue(%d, %s) = %q, %v; want %q, %v", tc.i, tc.name, got, ok, tc.want, tc.wantOK)
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
