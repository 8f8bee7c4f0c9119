//go:build unix

package bounded

import "syscall"

// openNoFollow: open neither through a symlink nor blocking on a FIFO.
const openNoFollow = syscall.O_NOFOLLOW | syscall.O_NONBLOCK
