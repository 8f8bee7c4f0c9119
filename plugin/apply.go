package plugin

import (
	"errors"
	"fmt"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-multiarch/docker-multiarch/driver"
)

type applyOptions struct {
	file    string
	allow   []string
	list    listFlags
	dryRun  bool
	timeout time.Duration
}

func newApplyCommand(dockerCli command.Cli) *cobra.Command {
	var opts applyOptions
	cmd := &cobra.Command{
		Use:   "apply -f FILE [OPTIONS]",
		Short: "Create or update the nodes and builders declared in a farm file",
		Long: `Create or update the nodes (engines, as Docker contexts, and BuildKit daemons) and builders
declared in a farm file (multiarch.yaml, see docs/farmfile.md), for CI machines with the plugin
preinstalled.

The file is the desired state: a node whose endpoint, TLS files, platforms or description differ
is updated, a builder whose nodes, pinned platforms or options differ is updated, and what
already matches is not written at all, so applying the same file twice changes nothing. Nodes
and builders that the file does not declare are left alone. Every value is checked, and the
engines and daemons whose platforms must be detected are probed, before anything is written;
nodes are written as "node add" writes them, builders as "create" does, and a failure puts back
the nodes this apply wrote. --dry-run prints the changes and writes nothing.

The TLS files and buildkitd configs a farm file names are read only below the file's own folder
(symlinks followed as the system follows them); --allow fs.read=PATH grants more, as bake's
--allow does.`,
		Example: `  docker multiarch apply -f multiarch.yaml
  docker multiarch apply -f multiarch.yaml --dry-run
  docker multiarch apply -f - --format json < multiarch.yaml
  docker multiarch apply -f farm/multiarch.yaml --allow fs.read=/etc/multiarch/certs`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runApply(cmd, dockerCli, opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVarP(&opts.file, "file", "f", "", `Farm file ("-" reads it from stdin)`)
	flags.BoolVar(&opts.dryRun, "dry-run", false, "Print the changes, write nothing")
	flags.StringArrayVar(&opts.allow, "allow", nil, `Read files outside the farm file's folder ("fs.read=PATH", "fs=PATH", "fs.read=*")`)
	addListFlags(cmd, &opts.list, "")
	addTimeoutFlag(cmd, &opts.timeout, "How long to wait for each node")
	return cmd
}

func runApply(cmd *cobra.Command, dockerCli command.Cli, opts applyOptions) error {
	if opts.file == "" {
		return errors.New("give the farm file with -f FILE (see docs/farmfile.md)")
	}
	format, err := listFormat(opts.list, applyTable, dockerCli.Err())
	if err != nil {
		return err
	}
	if err := checkTimeout(opts.timeout); err != nil {
		return err
	}
	m := service(dockerCli)
	plan, err := m.PlanFarm(cmd.Context(), opts.file, dockerCli.In(), opts.allow, opts.timeout)
	if err != nil {
		return err
	}
	if opts.dryRun {
		_, _ = fmt.Fprintln(dockerCli.Err(), summary(plan, true))
		return writeRows(dockerCli.Out(), format, applyHeader, plan.Changes, changeRow)
	}
	res, err := m.ApplyFarm(cmd.Context(), plan)
	for _, w := range res.Warnings {
		_, _ = fmt.Fprintln(dockerCli.Err(), "WARNING:", w)
	}
	if err != nil {
		return err
	}
	_, _ = fmt.Fprintln(dockerCli.Err(), summary(plan, false))
	return writeRows(dockerCli.Out(), format, applyHeader, res.Changes, changeRow)
}

// summary is the one line said about a plan: how many entries change, or that none does.
func summary(plan *driver.FarmPlan, dryRun bool) string {
	n, path := plan.Changing(), plan.File.Path()
	switch {
	case n == 0 && dryRun:
		return fmt.Sprintf("dry run of %s: every node and builder is up to date; nothing written", path)
	case n == 0:
		return fmt.Sprintf("%s: every node and builder is up to date; nothing written", path)
	case dryRun:
		return fmt.Sprintf("dry run of %s: %d of %d entries would change; nothing written", path, n, len(plan.Changes))
	}
	return fmt.Sprintf("%s applied: %d of %d entries changed", path, n, len(plan.Changes))
}
