package main

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/crypto/bcrypt"
)

// htpasswd writes a one-user htpasswd file (bcrypt, what the registry's htpasswd auth reads).
//
//	farmctl htpasswd FILE USER PASSWORD
func htpasswd(args []string) error {
	if len(args) != 3 {
		return errors.New("usage: farmctl htpasswd FILE USER PASSWORD")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(args[2]), bcrypt.DefaultCost)
	if err != nil {
		return err
	}
	return os.WriteFile(args[0], fmt.Appendf(nil, "%s:%s\n", args[1], hash), 0o600)
}
