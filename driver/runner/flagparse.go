package runner

import (
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/docker-multiarch/docker-multiarch/internal/redact"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/session/sshforward/sshprovider"
)

// csvFields splits a buildx-style CSV flag value (type=registry,"ref=a,b") into key/value pairs.
func csvFields(flag, value string) ([][2]string, error) {
	r := csv.NewReader(strings.NewReader(value))
	fields, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("invalid %s %q: %w", flag, shown(value), err)
	}
	var out [][2]string
	for _, f := range fields {
		k, v, _ := strings.Cut(f, "=")
		out = append(out, [2]string{strings.ToLower(strings.TrimSpace(k)), v})
	}
	return out, nil
}

// parseCacheEntries parses --cache-from/--cache-to: "type=registry,ref=REF,mode=max" or a bare REF
// (a registry cache).
func parseCacheEntries(flag string, values []string) ([]client.CacheOptionsEntry, error) {
	var out []client.CacheOptionsEntry
	for _, v := range values {
		if !strings.Contains(v, "=") {
			out = append(out, client.CacheOptionsEntry{Type: "registry", Attrs: map[string]string{"ref": v}})
			continue
		}
		fields, err := csvFields(flag, v)
		if err != nil {
			return nil, err
		}
		e := client.CacheOptionsEntry{Attrs: map[string]string{}}
		for _, f := range fields {
			if f[0] == "type" {
				e.Type = f[1]
				continue
			}
			e.Attrs[f[0]] = f[1]
		}
		if e.Type == "" {
			return nil, fmt.Errorf("invalid %s %q: type is required (registry, local, gha, s3, ...)", flag, shown(v))
		}
		out = append(out, e)
	}
	return out, nil
}

// parseSecret parses --secret "id=ID[,src=PATH|,env=VAR]" (type=file|env); the file must exist.
func parseSecret(v string) (secretsprovider.Source, error) {
	fields, err := csvFields("--secret", v)
	if err != nil {
		return secretsprovider.Source{}, err
	}
	var s secretsprovider.Source
	typ := ""
	for _, f := range fields {
		switch f[0] {
		case "id":
			s.ID = f[1]
		case "src", "source":
			s.FilePath = f[1]
		case "env":
			s.Env = f[1]
		case "type":
			if f[1] != "file" && f[1] != "env" {
				return s, fmt.Errorf("invalid --secret %q: unsupported type %q (want file or env)", shown(v), f[1])
			}
			typ = f[1]
		default:
			return s, fmt.Errorf("invalid --secret %q: unknown key %q", shown(v), f[0])
		}
	}
	if typ == "env" && s.Env == "" {
		s.Env, s.FilePath = s.FilePath, ""
	}
	if s.ID == "" {
		return s, fmt.Errorf("invalid --secret %q: id is required", shown(v))
	}
	if typ == "env" && s.Env == "" {
		s.Env = s.ID
	}
	if s.FilePath == "" && s.Env == "" { // as BuildKit's store: the variable named by id, else the file
		if _, ok := os.LookupEnv(s.ID); ok {
			s.Env = s.ID
		} else {
			s.FilePath = s.ID
		}
	}
	if s.FilePath != "" {
		if _, err := os.Stat(s.FilePath); err != nil {
			return s, fmt.Errorf("--secret id=%s: %w", s.ID, err)
		}
	}
	return s, nil
}

// parseSSH parses --ssh "default|ID[=SOCKET|KEY[,KEY]]".
func parseSSH(v string) (sshprovider.AgentConfig, error) {
	id, paths, _ := strings.Cut(v, "=")
	if id == "" {
		return sshprovider.AgentConfig{}, fmt.Errorf("invalid --ssh %q: want default|ID[=SOCKET|KEY[,KEY]]", v)
	}
	cfg := sshprovider.AgentConfig{ID: id}
	if paths != "" {
		cfg.Paths = strings.Split(paths, ",")
	}
	return cfg, nil
}

// parseAttest turns --provenance/--sbom into the frontend's attest attributes; on is false when
// the attestation is turned off.
func parseAttest(kind, v string) (string, bool, error) {
	if v == "" {
		return "", false, nil
	}
	if b, err := strconv.ParseBool(v); err == nil {
		if !b {
			return "", false, nil
		}
		if kind == "provenance" {
			return "mode=min", true, nil
		}
		return "", true, nil
	}
	fields, err := csvFields("--"+kind, v)
	if err != nil {
		return "", false, err
	}
	var attrs []string
	for _, f := range fields {
		switch {
		case f[0] == "disabled" && f[1] == "true":
			return "", false, nil
		case f[0] == "type" && f[1] != kind:
			return "", false, fmt.Errorf("invalid --%s %q: type must be %s", kind, shown(v), kind)
		case f[0] == "type":
		case f[0] == "mode" && kind == "provenance" && f[1] != "min" && f[1] != "max":
			return "", false, fmt.Errorf("invalid --provenance %q: mode must be min or max", shown(v))
		default:
			attrs = append(attrs, f[0]+"="+f[1])
		}
	}
	return strings.Join(attrs, ","), true, nil
}

// safeKeys are the keys of CSV flag values (--cache-*, --secret, --provenance, --sbom) whose values
// are shown in errors; every other value (access keys, tokens, ...) is masked.
var safeKeys = []string{"type", "ref", "mode", "id", "src", "source", "env", "dest", "scope", "region", "bucket",
	"name", "compression", "image-manifest", "oci-mediatypes", "ignore-error", "generator", "disabled", "builder-id"}

// shown is a flag value as errors may show it: never whole when it may hold a secret.
func shown(v string) string { return redact.CSV(v, safeKeys...) }
