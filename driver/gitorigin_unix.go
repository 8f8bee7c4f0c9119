//go:build !windows

package driver

import (
	"os"
	"syscall"
)

// ownedByMe says whether a file is this user's, as git requires of a repository since
// CVE-2022-24765: another user's .git (in /tmp, a shared folder above the context) is not read.
func ownedByMe(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}
