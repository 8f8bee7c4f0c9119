// Package e2e tests the installed docker-multiarch plugin through the real docker CLI, against the
// real engines, BuildKit nodes and registry of the farm that e2e/farm/farm.sh brings up.
//
// The tests carry the build tag e2e: run them with `make e2e` (which brings the farm up first) or
// `go test -tags e2e ./e2e/` once the farm is up. They fail, never skip, when the farm is missing.
package e2e
