package plugin

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-multiarch/docker-multiarch/driver"
)

// checkReportFile refuses a --report path whose folder does not exist, before anything runs.
func checkReportFile(path string) error {
	if path == "" {
		return nil
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || !fi.IsDir() {
		return fmt.Errorf("invalid --report %q: its folder %s does not exist", path, filepath.Dir(path))
	}
	return nil
}

// withReport runs a build, then writes the report of its record to path ("": none), whether it
// succeeded or not; the build's error comes first.
func withReport(dockerCli command.Cli, path string, build func() (*driver.BuildResult, error)) error {
	res, err := build()
	if path == "" || res == nil || res.HistoryID == "" {
		return err
	}
	if rerr := service(dockerCli).Report(res.HistoryID, path); rerr != nil {
		return errors.Join(err, fmt.Errorf("--report %s: %w", path, rerr))
	}
	_, _ = fmt.Fprintf(dockerCli.Err(), "report of build %s written to %s\n", res.HistoryID, path)
	return err
}

func newHistoryReportCommand(dockerCli command.Cli) *cobra.Command {
	return &cobra.Command{
		Use:   "report ID FILE.html",
		Short: "Write one recorded run as a self-contained HTML page: a timeline per platform and node, the tags, any error",
		Args:  cli.ExactArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			if err := checkReportFile(args[1]); err != nil {
				return err
			}
			if err := service(dockerCli).Report(args[0], args[1]); err != nil {
				return err
			}
			_, _ = fmt.Fprintln(dockerCli.Out(), args[1])
			return nil
		},
	}
}
