package plugin

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/opts"
	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/docker-multiarch/docker-multiarch/driver"
)

func newDuCommand(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var verbose bool
	var format string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "du [OPTIONS]",
		Short: "Show the build cache of every node of a builder, and the total",
		Long: `Ask every node of the builder (engines' BuildKit containers and BuildKit daemons) for its build
cache, in parallel, each within --timeout: a row per node and a total. A node that does not answer
is named; the others are still listed.`,
		Example: `  docker multiarch du
  docker multiarch du --builder multiarch --verbose
  docker multiarch du --format json`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkTimeout(timeout); err != nil {
				return err
			}
			if _, err := checkFormat(format); err != nil {
				return err
			}
			usage, err := service(dockerCli).DiskUsage(cmd.Context(), selectedBuilder(cmd, root), verbose, timeout)
			if err != nil {
				return err
			}
			return writeUsage(dockerCli, usage, format, verbose)
		},
	}
	cmd.Flags().BoolVar(&verbose, "verbose", false, "List every cache record of each node")
	addFormatFlag(cmd, &format)
	addTimeoutFlag(cmd, &timeout, "How long each node may take to answer")
	return cmd
}

func writeUsage(dockerCli command.Cli, usage []driver.CacheUsage, format string, verbose bool) error {
	if format != formatTable {
		return writeFormatted(dockerCli.Out(), format, usage, nil)
	}
	total := driver.CacheUsage{Node: "TOTAL"}
	var failed []string
	for _, u := range usage {
		total.Records, total.Size, total.Reclaimable = total.Records+u.Records, total.Size+u.Size, total.Reclaimable+u.Reclaimable
		if u.Err != "" {
			failed = append(failed, u.Err)
		}
	}
	rows := append(usage, total)
	err := writeList(dockerCli.Out(), formatTable, rows, []string{"NODE", "RECORDS", "SIZE", "RECLAIMABLE", "STATUS"}, func(u driver.CacheUsage) []string {
		status := "ok"
		switch {
		case u.Err != "":
			status = "did not answer"
		case u.Node == "TOTAL":
			status = ""
		}
		return []string{u.Node, fmt.Sprint(u.Records), units.HumanSize(float64(u.Size)), units.HumanSize(float64(u.Reclaimable)), status}
	})
	if err != nil {
		return err
	}
	if verbose {
		for _, u := range usage {
			for _, r := range u.Items {
				_, _ = fmt.Fprintf(dockerCli.Out(), "%s  %s  %s  %s  %s\n", u.Node, r.ID, r.Type, units.HumanSize(float64(r.Size)), r.Description)
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d nodes did not answer:\n  %s", len(failed), len(usage), strings.Join(failed, "\n  "))
	}
	return nil
}

type pruneFlags struct {
	reserved, maxUsed, minFree string
	filters                    opts.FilterOpt
	all, force                 bool
	timeout                    time.Duration
	format                     string
}

func newPruneCommand(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	f := pruneFlags{filters: opts.NewFilterOpt()}
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove build cache on every node of a builder",
		Long: `Prune the build cache of every node of the builder, in parallel, each within --timeout, with
buildx prune's meaning: --reserved-space (or its deprecated name --keep-storage) keeps that much
cache per node, --max-used-space keeps at most that much, --min-free-space prunes until the disk
has that much free, --filter until=DURATION removes only records unused for longer (other
filters, such as type=regular or id=PREFIX, go to BuildKit as buildx sends them; the Docker
config's pruneFilters are added), --all removes more than dangling records. Without --force it
asks, and reads the answer from a terminal or a pipe. A node that does not answer is named; the
others are still pruned.`,
		Example: `  docker multiarch prune --force
  docker multiarch prune --reserved-space 10GB --filter until=72h --force
  echo y | docker multiarch prune --max-used-space 20GB`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := pruneInput(dockerCli, f)
			if err != nil {
				return err
			}
			if !f.force {
				if ok, err := confirmPrune(cmd.Context(), dockerCli, f.all, f.format); err != nil || !ok {
					return err
				}
			}
			res, err := service(dockerCli).Prune(cmd.Context(), selectedBuilder(cmd, root), o, f.timeout)
			if err != nil {
				return err
			}
			return writePruned(dockerCli, res, f.format)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.reserved, "reserved-space", "", `Amount of cache always kept on each node ("10GB")`)
	fl.StringVar(&f.reserved, "keep-storage", "", `The older name of --reserved-space`)
	_ = fl.MarkDeprecated("keep-storage", "keep-storage flag has been changed to reserved-space") // as buildx
	fl.StringVar(&f.maxUsed, "max-used-space", "", `Most cache kept on each node ("20GB"; BuildKit v0.17+)`)
	fl.StringVar(&f.minFree, "min-free-space", "", `Free disk space to reach on each node ("5GB"; BuildKit v0.17+)`)
	fl.Var(&f.filters, "filter", `Filter values, as buildx prune's ("until=24h", "type=regular")`)
	fl.BoolVarP(&f.all, "all", "a", false, "Remove all unused build cache, not just dangling ones")
	fl.BoolVarP(&f.force, "force", "f", false, "Do not prompt for confirmation")
	addFormatFlag(cmd, &f.format)
	addTimeoutFlag(cmd, &f.timeout, "How long each node's prune may take")
	return cmd
}

// pruneInput checks prune's flags before anything runs, naming a bad value.
func pruneInput(dockerCli command.Cli, f pruneFlags) (driver.PruneOptions, error) {
	o := driver.PruneOptions{All: f.all}
	if err := checkTimeout(f.timeout); err != nil {
		return o, err
	}
	if _, err := checkFormat(f.format); err != nil {
		return o, err
	}
	for _, s := range []struct {
		flag, value string
		to          *int64
	}{{"--reserved-space", f.reserved, &o.ReservedSpace}, {"--max-used-space", f.maxUsed, &o.MaxUsedSpace}, {"--min-free-space", f.minFree, &o.MinFreeSpace}} {
		if s.value == "" {
			continue
		}
		n, err := units.RAMInBytes(s.value)
		if err != nil || n < 0 {
			return o, fmt.Errorf("invalid %s %q: give a size such as 10GB", s.flag, s.value)
		}
		*s.to = n
	}
	var err error
	o.Until, o.Filters, err = pruneFilters(command.PruneFilters(dockerCli, f.filters.Value()))
	return o, err
}

// confirmPrune asks, as buildx prune does, and reads the answer from the terminal or a pipe (one
// line, at most 4 KiB read): y or Y goes on; anything else, or no answer (an empty pipe), is a
// no. The question goes to stderr when stdout carries JSON. Ctrl-C ends the wait.
func confirmPrune(ctx context.Context, dockerCli command.Cli, all bool, format string) (bool, error) {
	what := "dangling build cache"
	if all {
		what = "all build cache"
	}
	out := dockerCli.Out()
	if format != formatTable {
		out = dockerCli.Err()
	}
	_, _ = fmt.Fprintf(out, "WARNING! This removes %s on every node of the builder. Are you sure you want to continue? [y/N] ", what)
	answer := make(chan string, 1)
	go func() {
		line, _, _ := bufio.NewReaderSize(io.LimitReader(dockerCli.In(), 4096), 4096).ReadLine()
		answer <- string(line)
	}()
	select {
	case <-ctx.Done():
		return false, fmt.Errorf("prune: no answer: %w", context.Cause(ctx))
	case a := <-answer:
		if strings.ToLower(a) == "y" {
			return true, nil
		}
	}
	_, _ = fmt.Fprintln(dockerCli.Err(), "prune cancelled: nothing removed")
	return false, nil
}

func writePruned(dockerCli command.Cli, res []driver.PruneResult, format string) error {
	if format != formatTable {
		return writeFormatted(dockerCli.Out(), format, res, nil)
	}
	var total int64
	var failed []string
	for _, r := range res {
		total += r.Reclaimed
		if r.Err != "" {
			failed = append(failed, r.Err)
		}
	}
	err := writeList(dockerCli.Out(), formatTable, res, []string{"NODE", "RECORDS", "RECLAIMED", "STATUS"}, func(r driver.PruneResult) []string {
		status := "ok"
		switch {
		case r.Refused:
			status = "refused"
		case r.Err != "":
			status = "did not answer"
		}
		return []string{r.Node, fmt.Sprint(r.Records), units.HumanSize(float64(r.Reclaimed)), status}
	})
	if err != nil {
		return err
	}
	_, _ = fmt.Fprintf(dockerCli.Out(), "Total reclaimed: %s\n", units.HumanSize(float64(total)))
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d nodes did not prune:\n  %s", len(failed), len(res), strings.Join(failed, "\n  "))
	}
	return nil
}
