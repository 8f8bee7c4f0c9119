package plugin

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/docker/go-units"
	"github.com/moby/term"
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
	keepStorage string
	filters     []string
	all, force  bool
	timeout     time.Duration
	format      string
}

func newPruneCommand(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var f pruneFlags
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove build cache on every node of a builder",
		Long: `Prune the build cache of every node of the builder, in parallel, each within --timeout, with
buildx prune's meaning: --keep-storage keeps that much cache per node, --filter until=DURATION
removes only records unused for longer, --all removes more than dangling records. A node that
does not answer is named; the others are still pruned.`,
		Example: `  docker multiarch prune --force
  docker multiarch prune --keep-storage 10GB --filter until=72h --force`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := pruneInput(f)
			if err != nil {
				return err
			}
			if !f.force {
				if err := confirmPrune(dockerCli); err != nil {
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
	fl.StringVar(&f.keepStorage, "keep-storage", "", `Amount of cache to keep on each node ("10GB"; buildx's reserved space)`)
	fl.StringArrayVar(&f.filters, "filter", nil, `Remove only records unused for longer: "until=DURATION" (e.g. "until=24h")`)
	fl.BoolVarP(&f.all, "all", "a", false, "Remove all unused build cache, not just dangling ones")
	fl.BoolVarP(&f.force, "force", "f", false, "Do not prompt for confirmation")
	addFormatFlag(cmd, &f.format)
	addTimeoutFlag(cmd, &f.timeout, "How long each node's prune may take")
	return cmd
}

// pruneInput checks prune's flags before anything runs, naming a bad value.
func pruneInput(f pruneFlags) (driver.PruneOptions, error) {
	o := driver.PruneOptions{All: f.all}
	if err := checkTimeout(f.timeout); err != nil {
		return o, err
	}
	if _, err := checkFormat(f.format); err != nil {
		return o, err
	}
	if f.keepStorage != "" {
		n, err := units.RAMInBytes(f.keepStorage)
		if err != nil || n < 0 {
			return o, fmt.Errorf("invalid --keep-storage %q: give a size such as 10GB", f.keepStorage)
		}
		o.KeepStorage = n
	}
	for _, v := range f.filters {
		key, val, _ := strings.Cut(v, "=")
		if key != "until" && key != "unused-for" {
			return o, fmt.Errorf("invalid --filter %q: only until=DURATION is supported", v)
		}
		d, err := time.ParseDuration(val)
		if err != nil || d <= 0 {
			return o, fmt.Errorf("invalid --filter %q: until takes a duration such as 24h", v)
		}
		o.Until = d
	}
	return o, nil
}

// confirmPrune asks, as buildx prune does; without a terminal to ask on it needs --force.
func confirmPrune(dockerCli command.Cli) error {
	if !term.IsTerminal(dockerCli.In().FD()) {
		return errors.New("prune removes build cache on every node: give --force (no terminal to confirm on)")
	}
	_, _ = fmt.Fprint(dockerCli.Out(), "WARNING! This removes build cache on every node of the builder. Are you sure you want to continue? [y/N] ")
	answer, _ := bufio.NewReader(dockerCli.In()).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		return errors.New("prune cancelled: nothing removed")
	}
	return nil
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
		if r.Err != "" {
			status = "did not answer"
		}
		return []string{r.Node, fmt.Sprint(r.Records), units.HumanSize(float64(r.Reclaimed)), status}
	})
	if err != nil {
		return err
	}
	_, _ = fmt.Fprintf(dockerCli.Out(), "Total reclaimed: %s\n", units.HumanSize(float64(total)))
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d nodes did not answer:\n  %s", len(failed), len(res), strings.Join(failed, "\n  "))
	}
	return nil
}
