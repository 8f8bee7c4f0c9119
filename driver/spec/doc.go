// Package spec is buildx's flag grammar parsed once, at the edge, into typed values: cache
// entries, secrets and ssh agents, outputs, attestations, annotations, named contexts, extra
// hosts, --call and KEY=VALUE lists. Each parser takes the values as the user wrote them and
// returns typed values or an error naming the value (a secret in it masked) and what to
// change; none has a side effect beyond reading what a value names (a secret's file, an OCI
// layout's index). They follow buildx v0.38's util/buildflags value for value: the differential
// tests (flags_diff*_test.go) and the fuzz targets (*_fuzz_test.go) compare them with buildx's own
// parsers, which the plugin does not link (buildflags imports buildx's policy engine, whose
// start-up cost the plugin cannot carry).
package spec
