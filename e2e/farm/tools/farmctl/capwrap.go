package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
)

// dropped is the capability this VM's bounding set lacks: privileged containers (BuildKit's) ask for
// it and runc then fails with "unable to apply caps: operation not permitted".
const dropped = "CAP_SYS_RESOURCE"

// capwrap is registered (through a one-line shell wrapper) as dockerd's default runtime. It rewrites
// the bundle's config.json (create/run) and the process spec (exec) without the capability, then
// execs the real runc with the unchanged arguments.
func capwrap(args []string) error {
	if len(args) < 1 {
		return errors.New("capwrap: missing runc path")
	}
	runc, rest := args[0], args[1:]
	for i, a := range rest {
		for _, f := range []struct{ flag, file string }{{"bundle", "config.json"}, {"process", ""}} {
			path, ok := flagValue(rest, i, a, f.flag)
			if !ok {
				continue
			}
			if f.file != "" {
				path = path + "/" + f.file
			}
			if err := dropCapability(path); err != nil {
				return err
			}
		}
	}
	return syscall.Exec(runc, append([]string{runc}, rest...), os.Environ())
}

// flagValue returns the value of --name (or -name) at position i, in either "--name v" or "--name=v" form.
func flagValue(args []string, i int, a, name string) (string, bool) {
	for _, p := range []string{"--" + name, "-" + name} {
		if a == p && i+1 < len(args) {
			return args[i+1], true
		}
		if v, ok := strings.CutPrefix(a, p+"="); ok {
			return v, true
		}
	}
	return "", false
}

func dropCapability(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("capwrap: %w", err)
	}
	var spec map[string]any
	if err := json.Unmarshal(data, &spec); err != nil {
		return fmt.Errorf("capwrap: %s: %w", path, err)
	}
	caps := spec["capabilities"] // an exec process spec
	if proc, ok := spec["process"].(map[string]any); ok {
		caps = proc["capabilities"] // a bundle's config.json
	}
	set, ok := caps.(map[string]any)
	if !ok {
		return nil
	}
	changed := false
	for kind, list := range set {
		items, ok := list.([]any)
		if !ok {
			continue
		}
		kept := slices.DeleteFunc(slices.Clone(items), func(c any) bool { return c == dropped })
		if len(kept) != len(items) {
			set[kind] = kept
			changed = true
		}
	}
	if !changed {
		return nil
	}
	out, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, st.Mode().Perm())
}
