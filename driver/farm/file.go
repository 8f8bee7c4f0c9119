// Package farm applies a farm file (multiarch.yaml): the nodes (Docker contexts) and the builders
// a CI machine should have, created or updated to match, idempotently, with nothing written when
// they already match. It lives in driver/ because comparing builders reads buildx's store, which
// only driver/ may import; nodes are read and written through the contexts package.
package farm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// File is a farm file: the desired nodes and builders. See docs/farmfile.md.
type File struct {
	Nodes    []Node    `yaml:"nodes"`
	Builders []Builder `yaml:"builders"`

	path string // as the user gave it, for errors
	dir  string // relative TLS and config paths are read from here
}

// Node is a node of the farm: an engine (a Docker context named Name) or a BuildKit daemon.
type Node struct {
	Name        string   `yaml:"name"`
	Host        string   `yaml:"host"`
	Context     string   `yaml:"context"`
	BuildKit    string   `yaml:"buildkit"` // a BuildKit daemon's address, as node add --buildkit
	Platforms   []string `yaml:"platforms"`
	Description string   `yaml:"description"`
	TLS         *TLS     `yaml:"tls"`
}

// TLS names the client TLS files of a tcp:// host or BuildKit daemon, relative to the farm file;
// a daemon may be reached with another TLS server name than its host's.
type TLS struct {
	CA         string `yaml:"ca"`
	Cert       string `yaml:"cert"`
	Key        string `yaml:"key"`
	ServerName string `yaml:"servername"`
}

// Builder is a multiarch builder across nodes of the farm.
type Builder struct {
	Name            string            `yaml:"name"`
	Nodes           []string          `yaml:"nodes"`   // empty: every node of the file
	Emulate         map[string]string `yaml:"emulate"` // platform -> node
	DriverOpts      []string          `yaml:"driver-opts"`
	BuildkitdFlags  string            `yaml:"buildkitd-flags"`
	BuildkitdConfig string            `yaml:"buildkitd-config"`
	Use             bool              `yaml:"use"`
}

// Path is the file as the user named it.
func (f *File) Path() string { return f.path }

// Parse decodes a farm file strictly (an unknown key is an error naming it) and checks every
// value; path names the file in errors, dir is where its relative paths start.
func Parse(data []byte, path, dir string, allow ...string) (*File, error) {
	f := &File{path: path, dir: dir}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty farm file: declare nodes and builders (see docs/farmfile.md)", path)
		}
		return nil, fmt.Errorf("%s: %w", path, decodeError(err))
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: more than one YAML document: a farm file is one", path)
	}
	if err := f.CheckPaths(allow); err != nil { // before validate reads any of them
		return nil, err
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// sections name the farm file's types in errors, and list the keys each takes.
var sections = map[string]reflect.Type{
	"File":    reflect.TypeFor[File](),
	"Node":    reflect.TypeFor[Node](),
	"TLS":     reflect.TypeFor[TLS](),
	"Builder": reflect.TypeFor[Builder](),
}

var sectionNames = map[string]string{"File": "the top level", "Node": "a node", "TLS": "tls", "Builder": "a builder"}

var unknownFieldRE = regexp.MustCompile(`^line (\d+): field (.+) not found in type [\w./]*\.(\w+)$`)

// decodeError rewrites the YAML decoder's errors in the farm file's terms: an unknown key is
// named with the keys its section takes.
func decodeError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	msgs := make([]string, 0, len(te.Errors))
	for _, e := range te.Errors {
		m := unknownFieldRE.FindStringSubmatch(e)
		if m == nil || sections[m[3]] == nil {
			msgs = append(msgs, e)
			continue
		}
		msgs = append(msgs, fmt.Sprintf("line %s: unknown key %q in %s (known keys: %s)",
			m[1], m[2], sectionNames[m[3]], strings.Join(yamlKeys(sections[m[3]]), ", ")))
	}
	return errors.New(strings.Join(msgs, "; "))
}

// yamlKeys lists the YAML keys of a struct type.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for f := range t.Fields() {
		if k, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); k != "" && k != "-" {
			keys = append(keys, k)
		}
	}
	return keys
}

// Load reads and parses a farm file; "-" reads it from stdin (its relative paths then start in
// the working directory). The files it names must lie below its folder, or be granted by allow
// (--allow fs.read=PATH, see CheckPaths).
func Load(path string, stdin io.Reader, allow []string) (*File, error) {
	var (
		data []byte
		err  error
		dir  = filepath.Dir(path)
	)
	if path == "-" {
		data, err = readBounded(stdin)
		path, dir = "stdin", "."
	} else {
		data, err = readFileBounded(path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading farm file %s: %w", path, err)
	}
	return Parse(data, path, dir, allow...)
}

func readFileBounded(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return readBounded(fh)
}

// readBounded reads a farm file of at most maxFileSize bytes.
func readBounded(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err == nil && len(data) > maxFileSize {
		err = fmt.Errorf("larger than %d KiB: a farm file declares nodes and builders", maxFileSize>>10)
	}
	return data, err
}
