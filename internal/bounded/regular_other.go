//go:build !unix

package bounded

// openNoFollow: the Lstat before the open and the Stat after it are the checks here.
const openNoFollow = 0
