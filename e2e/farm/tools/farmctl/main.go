// Command farmctl holds the e2e farm's small helpers that are easier to get right in Go than in shell:
//
//	farmctl capwrap RUNC ARGS...   run RUNC with CAP_SYS_RESOURCE removed from the OCI specs it is given
//	farmctl seed ...               push a multi-platform busybox index to the farm registry
//	farmctl htpasswd FILE USER PW  write a bcrypt htpasswd file for the registry that needs a login
//	farmctl ociregistry ADDR       serve a registry with the OCI 1.1 referrers API (go-containerregistry's)
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: farmctl capwrap RUNC ARGS... | farmctl seed ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "capwrap":
		err = capwrap(os.Args[2:])
	case "seed":
		err = seed(os.Args[2:])
	case "htpasswd":
		err = htpasswd(os.Args[2:])
	case "ociregistry":
		err = ociregistry(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "farmctl:", err)
		os.Exit(1)
	}
}
