package spec

import (
	"encoding/csv"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// attestFlag is one attestation flag value: --attest TYPE,..., --provenance V or --sbom V.
type attestFlag struct {
	flag  string // as the user wrote it: "--attest", "--provenance", "--sbom"
	value string // as the user gave it
	csv   string // in --attest form (buildx's CanonicalizeAttest)
	typed *Entry // an entry given typed (bake): its fields, not csv's
}

// attestFlags are the attestation flags in buildx's order: every --attest, then --provenance, then --sbom.
func attestFlags(attests []string, provenance, sbom string) []attestFlag {
	var out []attestFlag
	for _, a := range attests {
		out = append(out, attestFlag{flag: "--attest", value: a, csv: a})
	}
	for _, a := range []struct{ kind, v string }{{"provenance", provenance}, {"sbom", sbom}} {
		if a.v == "" {
			continue
		}
		c := "type=" + a.kind + "," + a.v
		if b, err := strconv.ParseBool(a.v); err == nil {
			c = fmt.Sprintf("type=%s,disabled=%t", a.kind, !b)
		}
		out = append(out, attestFlag{flag: "--" + a.kind, value: a.v, csv: c})
	}
	return out
}

// ParseAttestations turns the attestation flags into the frontend attributes buildx sends
// ("attest:TYPE" = "type=TYPE,KEY=VALUE,..."); the first value of a type wins, as in buildx.
// given holds every type the flags named, turned off ones included (no default provenance then).
func ParseAttestations(attests []string, provenance, sbom string, typed ...Entry) (attrs map[string]string, given map[string]bool, err error) {
	attrs, given = map[string]string{}, map[string]bool{}
	flags := attestFlags(attests, provenance, sbom)
	for i := range typed {
		flags = append(flags, attestFlag{flag: "--attest", value: typed[i].Text, typed: &typed[i]})
	}
	for _, a := range flags {
		typ, disabled, kv, err := parseAttest(a)
		if err != nil {
			return nil, nil, err
		}
		if given[typ] {
			continue
		}
		given[typ] = true
		if !disabled {
			attrs["attest:"+typ] = csvJoin(append([][2]string{{"type", typ}}, kv...))
		}
	}
	return attrs, given, nil
}

// parseAttest is one attestation value: its type, whether it is turned off, and its other fields
// sorted by key.
func parseAttest(a attestFlag) (typ string, disabled bool, kv [][2]string, err error) {
	var fields []string
	if a.typed != nil {
		fields = a.typed.Fields
	} else if fields, err = CSVFields(a.flag, a.csv); err != nil {
		return "", false, nil, err
	}
	attrs := map[string]string{}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return "", false, nil, Invalid(a.flag, shown(a.value), "%q is not KEY=VALUE", shown(f))
		}
		switch strings.TrimSpace(strings.ToLower(k)) {
		case "type":
			typ = v
		case "disabled":
			if disabled, err = strconv.ParseBool(v); err != nil {
				return "", false, nil, Invalid(a.flag, shown(a.value), "disabled must be true or false")
			}
		default:
			attrs[k] = v
		}
	}
	if typ == "" {
		return "", false, nil, Invalid(a.flag, shown(a.value), "type is required (provenance, sbom)")
	}
	if a.flag != "--attest" && typ != strings.TrimPrefix(a.flag, "--") {
		return "", false, nil, Invalid(a.flag, shown(a.value), "type must be %s", strings.TrimPrefix(a.flag, "--"))
	}
	// Checked here rather than by BuildKit once the build has started (buildx passes it on).
	if m, ok := attrs["mode"]; ok && typ == "provenance" && !disabled && m != "min" && m != "max" {
		return "", false, nil, Invalid(a.flag, shown(a.value), "provenance mode must be min or max")
	}
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		kv = append(kv, [2]string{k, attrs[k]})
	}
	return typ, disabled, kv, nil
}

// csvJoin writes KEY=VALUE pairs as buildx's csvBuilder does: a pair holding a comma or a quote
// is CSV-quoted.
func csvJoin(kv [][2]string) string {
	var out []string
	for _, p := range kv {
		pair := p[0] + "=" + p[1]
		if strings.ContainsAny(pair, `,"`) {
			var b strings.Builder
			w := csv.NewWriter(&b)
			_ = w.Write([]string{pair})
			w.Flush()
			pair = strings.TrimSpace(b.String())
		}
		out = append(out, pair)
	}
	return strings.Join(out, ",")
}
