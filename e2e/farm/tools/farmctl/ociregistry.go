package main

import (
	"errors"
	"log"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// ociregistry ADDR serves go-containerregistry's registry (in memory) on ADDR with the OCI 1.1
// referrers API on: the farm's distribution registry serves no referrers API, so signatures
// as referrers are tested against this one (and read back by cosign).
func ociregistry(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: farmctl ociregistry ADDR")
	}
	srv := &http.Server{
		Addr:              args[0],
		Handler:           registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(log.Writer(), "", 0))),
		ReadHeaderTimeout: 30 * time.Second,
	}
	return srv.ListenAndServe()
}
