package spec

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/docker-multiarch/docker-multiarch/driver/pathutil"

	"github.com/moby/buildkit/client"
)

// Output is one -o/--output, parsed and checked as buildx does (ParseExports, then
// CreateExports): "registry" is already the image exporter with push=true (and unpack=false
// unless given); Dest is the directory (local, oci/docker with tar=false) or the file ("-" for
// standard output: tar, oci, docker) it writes to.
type Output struct {
	Type  string
	Attrs map[string]string
	Dest  string
	// DestIsDir: Dest is a directory (the local exporter, or oci/docker with tar=false).
	DestIsDir bool
}

// parseOutput parses one -o value: "type=TYPE,KEY=VALUE,...", a bare PATH (type=local,dest=PATH)
// or "-" (type=tar to standard output).
func parseOutput(v string) (Output, error) {
	en, err := splitEntry("--output", v)
	if err != nil {
		return Output{}, err
	}
	if len(en.Fields) == 1 && en.Fields[0] == v && (v == "-" || !strings.HasPrefix(v, "type=")) {
		e := Output{Type: client.ExporterLocal, Dest: v, Attrs: map[string]string{}}
		if v == "-" {
			e.Type = client.ExporterTar
		}
		return e, e.check(v)
	}
	return OutputOf(en)
}

// OutputOf is one output entry (type=TYPE,KEY=VALUE,...), checked as parseOutput checks a flag's.
func OutputOf(en Entry) (Output, error) {
	v := en.Text
	e := Output{Attrs: map[string]string{}}
	for _, f := range en.Fields {
		k, val, ok := strings.Cut(f, "=")
		if !ok {
			return e, Invalid("--output", shown(v), "%q is not KEY=VALUE", shown(f))
		}
		switch k = strings.TrimSpace(strings.ToLower(k)); k {
		case "type":
			e.Type = val
		case "dest":
			e.Dest = val
		default:
			e.Attrs[k] = val
		}
	}
	if e.Type == "" {
		return e, Invalid("--output", shown(v), "type is required (local, tar, oci, docker, image, registry)")
	}
	return e, e.check(v)
}

// check is buildx's CreateExports for one output: the destination each exporter needs.
func (e *Output) check(v string) error {
	file, dir := false, false
	switch e.Type {
	case client.ExporterLocal:
		dir = true
	case client.ExporterTar:
		file = true
	case client.ExporterOCI, client.ExporterDocker:
		tar, err := strconv.ParseBool(e.Attrs["tar"])
		if err != nil {
			tar = true
		}
		file, dir = tar, !tar
	case "registry":
		e.Type, e.Attrs["push"] = client.ExporterImage, "true"
		if _, ok := e.Attrs["unpack"]; !ok {
			e.Attrs["unpack"] = "false"
		}
	}
	switch {
	case dir && e.Dest == "":
		return Invalid("--output", shown(v), "dest is required for the %s exporter", e.Type)
	case dir && e.Dest == "-":
		return Invalid("--output", shown(v), "the %s exporter writes a directory, not standard output", e.Type)
	case dir:
		st, err := os.Stat(e.Dest)
		if err != nil && !errors.Is(err, os.ErrNotExist) { // as buildx: a destination that cannot be made
			return Invalid("--output", shown(v), "destination directory: %w", err)
		}
		if err == nil && !st.IsDir() {
			return Invalid("--output", shown(v), "destination directory %s is a file", e.Dest)
		}
		e.DestIsDir = true
	case file && e.Dest == "" && e.Type != client.ExporterDocker:
		e.Dest = "-"
	}
	if file && e.Dest != "" && e.Dest != "-" {
		st, err := os.Stat(e.Dest)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return Invalid("--output", shown(v), "destination file: %w", err)
		}
		if err == nil && st.IsDir() {
			return Invalid("--output", shown(v), "destination file %s is a directory", e.Dest)
		}
	}
	return nil
}

// ParseOutputs checks every -o, then every output entry given typed, and what buildx checks
// across them: one standard output, no local or tar output with --iidfile, mode=delete only with
// --allow buildx.local.delete or inside the working directory.
func ParseOutputs(values []string, iidFile string, allowDelete bool, typed ...Entry) ([]Output, error) {
	var all []Output
	var texts []string
	for _, v := range values {
		if v == "" {
			continue
		}
		e, err := parseOutput(v)
		if err != nil {
			return nil, err
		}
		all, texts = append(all, e), append(texts, v)
	}
	for _, en := range typed {
		e, err := OutputOf(en)
		if err != nil {
			return nil, err
		}
		all, texts = append(all, e), append(texts, en.Text)
	}
	stdout := false
	for i, e := range all {
		v := texts[i]
		if e.Dest == "-" && !e.DestIsDir {
			if stdout {
				return nil, Invalid("--output", shown(v), "another output already writes to standard output")
			}
			stdout = true
		}
		if (e.Type == client.ExporterLocal || e.Type == client.ExporterTar) && iidFile != "" {
			return nil, Invalid("--output", shown(v), "local and tar exporters are incompatible with --iidfile")
		}
		if err := checkLocalDelete(e, allowDelete); err != nil {
			return nil, Invalid("--output", shown(v), "%w", err)
		}
	}
	return all, nil
}

// checkLocalDelete: a local output with mode=delete empties its destination first, which buildx
// allows only below the working directory unless --allow buildx.local.delete is given.
func checkLocalDelete(e Output, allowDelete bool) error {
	if e.Type != client.ExporterLocal {
		return nil
	}
	mode, err := client.ParseLocalExporterMode(e.Attrs["mode"])
	if err != nil || mode != client.LocalExporterModeDelete || allowDelete {
		return err
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	outside, err := pathutil.Outside([]string{e.Dest}, []string{wd})
	if err != nil {
		return fmt.Errorf("mode=delete for destination %q: %w", e.Dest, err)
	}
	dest, _ := pathutil.Resolve(e.Dest)
	here, err := pathutil.Resolve(wd)
	if err != nil {
		return err
	}
	if dest == here || len(outside) > 0 {
		return fmt.Errorf("mode=delete for destination %q requires --allow=buildx.local.delete", e.Dest)
	}
	return nil
}

// Call is --call (or --check, --print) as buildx parses it: nil for a plain build.
type Call struct {
	Name         string // lint (for "check"), outline, targets, subrequests.describe, ...
	Format       string // format=json
	IgnoreStatus bool   // ignorestatus=true
}

func ParseCall(v string) (*Call, error) {
	if v == "" {
		return nil, nil
	}
	fields, err := CSVFields("--call", v)
	if err != nil {
		return nil, err
	}
	f := &Call{}
	for _, field := range fields {
		k, val, ok := strings.Cut(field, "=")
		switch {
		case ok && k == "format":
			f.Format = val
		case ok && k == "ignorestatus":
			if f.IgnoreStatus, err = strconv.ParseBool(val); err != nil {
				return nil, Invalid("--call", v, "ignorestatus must be true or false")
			}
		case ok:
			return nil, Invalid("--call", v, "unknown field %q (want METHOD[,format=FORMAT][,ignorestatus=BOOL])", field)
		case f.Name != "":
			return nil, Invalid("--call", v, "two methods")
		default:
			f.Name = field
		}
	}
	switch f.Name {
	case "check":
		f.Name = "lint"
	case "build":
		return nil, nil
	}
	return f, nil
}

var ErrNoPolicyEngine = errors.New("source policies are evaluated by buildx's policy engine (OPA) on the client, which docker multiarch does not embed: " +
	"build with docker buildx build for policy-checked builds")
