package spec

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/session/sshforward/sshprovider"
	"github.com/tonistiigi/go-csvvalue"

	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// The parsers of this package follow buildx v0.38's util/buildflags value for value
// (differential tests in flags_diff*_test.go hold them to it): buildflags itself is not linked,
// as it imports buildx's policy engine (OPA), whose start-up cost the plugin cannot afford.

// CSVFields splits a buildx-style CSV flag value (type=registry,"ref=a,b") as buildx does.
func CSVFields(flag, value string) ([]string, error) {
	fields, err := csvvalue.Fields(value, nil)
	if err != nil {
		return nil, Invalid(flag, shown(value), "%w", err)
	}
	return fields, nil
}

// ParseCacheEntries parses --cache-from/--cache-to as buildx does: "type=registry,ref=REF,mode=max",
// or bare references ("REF" or "REF1,REF2": one registry cache each), then the entries given
// typed (Entries). As buildx, a gha cache takes its token and URLs from GitHub Actions'
// environment and is dropped outside it (warned returns why), and an s3 cache takes AWS
// credentials from the environment.
func ParseCacheEntries(flag string, values []string, typed ...Entry) (out []client.CacheOptionsEntry, warned []string, err error) {
	var entries []Entry
	for _, v := range values {
		if v == "" {
			continue
		}
		e, err := splitEntry(flag, v)
		if err != nil {
			return nil, nil, err
		}
		if strings.Contains(v, "=") {
			entries = append(entries, e)
			continue
		}
		for _, ref := range e.Fields { // bare references: one registry cache each (split again, as buildx does)
			re, err := splitEntry(flag, ref)
			if err != nil {
				return nil, nil, err
			}
			entries = append(entries, re)
		}
	}
	for _, en := range append(entries, typed...) {
		e, err := cacheEntry(flag, en)
		if err != nil {
			return nil, nil, err
		}
		addGitHubCache(e)
		addAWSCredentials(e)
		if e.Type == "gha" && (e.Attrs["token"] == "" || e.Attrs["url"] == "" && e.Attrs["url_v2"] == "") {
			warned = append(warned, fmt.Sprintf("%s %s: no GitHub Actions cache token and URL in the environment (ACTIONS_RUNTIME_TOKEN, ACTIONS_CACHE_URL or ACTIONS_RESULTS_URL): ignored, as buildx does", flag, shown(en.Text)))
			continue
		}
		out = append(out, e)
	}
	return out, warned, nil
}

// cacheEntry is one cache entry: a bare registry reference or type=...,KEY=VALUE fields.
func cacheEntry(flag string, en Entry) (client.CacheOptionsEntry, error) {
	fields, v := en.Fields, en.Text
	if len(fields) == 1 && !strings.Contains(fields[0], "=") {
		return client.CacheOptionsEntry{Type: "registry", Attrs: map[string]string{"ref": fields[0]}}, nil
	}
	e := client.CacheOptionsEntry{Attrs: map[string]string{}}
	for _, f := range fields {
		k, val, ok := strings.Cut(f, "=")
		if !ok {
			return e, Invalid(flag, shown(v), "%q is not KEY=VALUE", shown(f))
		}
		if k = strings.ToLower(k); k == "type" {
			e.Type = val
		} else {
			e.Attrs[k] = val
		}
	}
	if e.Type == "" {
		return e, Invalid(flag, shown(v), "type is required (registry, local, inline, gha, s3, azblob)")
	}
	return e, nil
}

// addGitHubCache gives a gha cache the token and URLs of GitHub Actions' environment, as buildx does.
func addGitHubCache(e client.CacheOptionsEntry) {
	if e.Type != "gha" {
		return
	}
	version, ok := e.Attrs["version"]
	if !ok && envBool("ACTIONS_CACHE_SERVICE_V2") {
		version = "2"
	}
	setFromEnv(e.Attrs, "token", "ACTIONS_RUNTIME_TOKEN")
	if version == "2" {
		setFromEnv(e.Attrs, "url_v2", "ACTIONS_RESULTS_URL")
	}
	if !setFromEnv(e.Attrs, "url", "ACTIONS_CACHE_URL") {
		setFromEnv(e.Attrs, "url", "ACTIONS_RESULTS_URL")
	}
}

// addAWSCredentials gives an s3 cache the credentials of the environment (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), unless it names both keys itself: buildx reads them
// through the AWS SDK, whose first source is these variables. Shared files and instance roles are
// not read here: the S3 cache's BuildKit reads them on its own side.
func addAWSCredentials(e client.CacheOptionsEntry) {
	if e.Type != "s3" {
		return
	}
	_, hasID := e.Attrs["access_key_id"]
	_, hasSecret := e.Attrs["secret_access_key"]
	if hasID && hasSecret {
		return
	}
	id, secret := envFirst("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY"), envFirst("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY")
	if id == "" || secret == "" {
		return
	}
	if !hasID {
		e.Attrs["access_key_id"] = id
	}
	if !hasSecret {
		e.Attrs["secret_access_key"] = secret
	}
	if _, ok := e.Attrs["session_token"]; !ok && os.Getenv("AWS_SESSION_TOKEN") != "" {
		e.Attrs["session_token"] = os.Getenv("AWS_SESSION_TOKEN")
	}
}

// setFromEnv sets attrs[key] from the variable env unless key is set; it tells whether key is set.
func setFromEnv(attrs map[string]string, key, env string) bool {
	if _, ok := attrs[key]; ok {
		return true
	}
	v, ok := os.LookupEnv(env)
	if ok {
		attrs[key] = v
	}
	return ok
}

func envFirst(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// ParseSecret parses --secret "id=ID[,src=PATH|,env=VAR][,type=file|env]" as buildx does; the
// source is then resolved and checked as BuildKit's store does (the variable named by id, else
// the file), so a missing file is named before anything runs.
func ParseSecret(v string) (secretsprovider.Source, error) {
	e, err := splitEntry("--secret", v)
	if err != nil {
		return secretsprovider.Source{}, err
	}
	return Secret(e)
}

// Secret is one secret entry, checked as ParseSecret checks a flag's.
func Secret(e Entry) (secretsprovider.Source, error) {
	fields, v := e.Fields, e.Text
	var s secretsprovider.Source
	typ := ""
	for _, f := range fields {
		k, val, ok := strings.Cut(f, "=")
		if !ok {
			return s, Invalid("--secret", shown(v), "%q is not KEY=VALUE", shown(f))
		}
		switch strings.ToLower(k) {
		case "type":
			if val != "file" && val != "env" {
				return s, Invalid("--secret", shown(v), "unsupported type %q (want file or env)", val)
			}
			typ = val
		case "id":
			s.ID = val
		case "src", "source":
			s.FilePath = val
		case "env":
			s.Env = val
		default:
			return s, Invalid("--secret", shown(v), "unknown key %q", strings.ToLower(k))
		}
	}
	if typ == "env" && s.Env == "" {
		s.Env, s.FilePath = s.FilePath, ""
	}
	if s.ID == "" {
		return s, Invalid("--secret", shown(v), "id is required")
	}
	if s.FilePath == "" && s.Env == "" { // as BuildKit's store: the variable named by id, else the file
		if _, ok := os.LookupEnv(s.ID); ok {
			s.Env = s.ID
		} else {
			s.FilePath = s.ID
		}
	}
	if _, err := secretsprovider.NewStore([]secretsprovider.Source{s}); err != nil {
		return s, Invalid("--secret", shown(v), "%w", err)
	}
	return s, nil
}

// ParseSSH parses --ssh "default|ID[=SOCKET|KEY[,KEY]]" as buildx does (an empty ID is BuildKit's
// default one).
func ParseSSH(v string) sshprovider.AgentConfig {
	id, paths, ok := strings.Cut(v, "=")
	cfg := sshprovider.AgentConfig{ID: id}
	if ok {
		cfg.Paths = strings.Split(paths, ",")
	}
	return cfg
}

// SSHText is an agent as --ssh writes it: ID[=PATH,...].
func SSHText(cfg sshprovider.AgentConfig) string {
	if len(cfg.Paths) == 0 {
		return cfg.ID
	}
	return cfg.ID + "=" + strings.Join(cfg.Paths, ",")
}

// safeKeys are the keys of CSV flag values (--cache-*, --secret, --attest, --output, ...) whose
// values are shown in errors; every other value (access keys, tokens, ...) is masked.
var safeKeys = []string{"type", "ref", "mode", "id", "src", "source", "env", "dest", "scope", "region", "bucket",
	"name", "compression", "compression-level", "force-compression", "image-manifest", "oci-mediatypes",
	"ignore-error", "generator", "disabled", "builder-id", "version", "url", "url_v2", "prefix", "push",
	"push-by-digest", "unpack", "tar", "store", "annotation", "platform-split", "filename", "reset", "strict",
	"log-level", "format", "ignorestatus"}

// shown is a flag value as errors may show it: never whole when it may hold a secret.
func shown(v string) string { return redact.CSV(v, safeKeys...) }

// envBool is a boolean environment variable (false when unset or not a boolean).
func envBool(name string) bool {
	b, err := strconv.ParseBool(os.Getenv(name))
	return err == nil && b
}
