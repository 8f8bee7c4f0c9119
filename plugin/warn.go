package plugin

import (
	"fmt"

	"github.com/docker/cli/cli/command"
)

// warnNow prints a warning the moment the driver has it (before a long build goes on).
func warnNow(dockerCli command.Cli) func(string) {
	return func(w string) { _, _ = fmt.Fprintln(dockerCli.Err(), "WARNING:", w) }
}
