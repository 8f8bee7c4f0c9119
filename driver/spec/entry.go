package spec

import (
	"maps"
	"slices"
	"strings"

	"github.com/moby/buildkit/session/sshforward/sshprovider"
)

// Entry is one value of a CSV flag (--cache-from, --cache-to, --secret, --output, --attest) as its
// fields, in order: what the flag's text splits into, or what bake's resolved definition holds
// (EntryOf). Text is the value as an error shows it (secrets masked).
type Entry struct {
	Fields []string // KEY=VALUE, or a bare word where the flag takes one (a cache's registry reference)
	Text   string
}

// EntryOf is the entry of a resolved definition's object (buildx's printed cache, secret, output
// or attest entry): the keys first in that order, then the others sorted, each field KEY=VALUE as
// it is, never joined into flag text and split again. (A key holding "=" is read as the flag's
// would be: cut at the first "="; bake refuses such keys.) Text, for errors, is the fields as
// buildx would write the flag, a field holding a comma or a quote CSV-quoted, so that masking
// reads it field by field.
func EntryOf(m map[string]string, first ...string) Entry {
	var e Entry
	for _, k := range first {
		if v, ok := m[k]; ok {
			e.Fields = append(e.Fields, k+"="+v)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(first, k) {
			e.Fields = append(e.Fields, k+"="+m[k])
		}
	}
	pairs := make([][2]string, len(e.Fields))
	for i, f := range e.Fields {
		k, v, _ := strings.Cut(f, "=")
		pairs[i] = [2]string{k, v}
	}
	e.Text = csvJoin(pairs)
	return e
}

// splitEntry is a flag's text as an entry.
func splitEntry(flag, v string) (Entry, error) {
	fields, err := CSVFields(flag, v)
	return Entry{Fields: fields, Text: v}, err
}

// Entries are build values already in typed form, given beside the flags' text: bake fills them
// from buildx's resolved definition, so no flag text is formatted to be parsed again. Each list
// is parsed after the flag text of the same name, with the same checks.
type Entries struct {
	CacheFrom, CacheTo []Entry
	Secrets            []Entry
	Outputs            []Entry
	Attests            []Entry // in --attest's form: type=TYPE,...
	SSH                []sshprovider.AgentConfig
	BuildArgs, Labels  map[string]string
	Contexts           []Pair  // --build-context NAME=VALUE
	Hosts              []Pair  // --add-host HOST=IP
	Resources          []Pair  // --resource KEY=VALUE
	Policies           []Entry // --policy fields
}

// Pair is a NAME=VALUE given typed: the name and the value as they are (a value may hold "=").
type Pair struct {
	Name, Value string
}
