package plugin

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/docker-multiarch/docker-multiarch/driver"
)

func newHistoryCommand(dockerCli command.Cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "history",
		Short: "What builds, bakes and merges this Docker config ran: per platform the node, its BuildKit reference and digest, and where every tag went",
		Args:  cli.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newHistoryLsCommand(dockerCli), newHistoryInspectCommand(dockerCli), newHistoryRmCommand(dockerCli), newHistoryReportCommand(dockerCli))
	return cmd
}

func newHistoryLsCommand(dockerCli command.Cli) *cobra.Command {
	var format string
	var filters []string
	cmd := &cobra.Command{
		Use:   "ls [OPTIONS]",
		Short: "List the recorded runs, newest first",
		Example: `  docker multiarch history ls
  docker multiarch history ls --filter outcome=failed --filter since=24h
  docker multiarch history ls --filter tag=registry.example.com/app:1.4 --format json`,
		Args: cli.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			keep, err := historyFilter(filters)
			if err != nil {
				return err
			}
			if _, err := checkFormat(format); err != nil {
				return err
			}
			all, err := service(dockerCli).History()
			if err != nil {
				return err
			}
			var kept []driver.HistoryRecord
			for _, r := range all {
				if keep(r) {
					kept = append(kept, r)
				}
			}
			return writeList(dockerCli.Out(), format, kept,
				[]string{"ID", "COMMAND", "BUILDER", "TAGS", "OUTCOME", "STARTED", "DURATION"},
				func(r driver.HistoryRecord) []string {
					return []string{r.ID, r.Command, orDash(r.Builder), tagsText(r.Tags), r.Outcome,
						units.HumanDuration(time.Since(r.Start)) + " ago", r.Duration().Round(100 * time.Millisecond).String()}
				})
		},
	}
	addFormatFlag(cmd, &format)
	cmd.Flags().StringArrayVar(&filters, "filter", nil, `Keep only runs with "builder=NAME", "tag=REF", "outcome=succeeded|failed|interrupted", "command=build|bake|merge" or "since=DURATION" (repeatable)`)
	return cmd
}

// historyFilter turns --filter values into a predicate, refusing a bad one by name.
func historyFilter(values []string) (func(driver.HistoryRecord) bool, error) {
	var preds []func(driver.HistoryRecord) bool
	for _, v := range values {
		key, val, ok := strings.Cut(v, "=")
		if !ok || val == "" {
			return nil, fmt.Errorf("invalid --filter %q: give KEY=VALUE", v)
		}
		switch key {
		case "builder":
			preds = append(preds, func(r driver.HistoryRecord) bool { return r.Builder == val })
		case "tag":
			tag := normalizedTag(val)
			preds = append(preds, func(r driver.HistoryRecord) bool { return slices.Contains(r.Tags, tag) })
		case "outcome":
			if !slices.Contains([]string{"succeeded", "failed", "interrupted"}, val) {
				return nil, fmt.Errorf("invalid --filter %q: outcome is succeeded, failed or interrupted", v)
			}
			preds = append(preds, func(r driver.HistoryRecord) bool { return r.Outcome == val })
		case "command":
			preds = append(preds, func(r driver.HistoryRecord) bool { return r.Command == val })
		case "since":
			d, err := time.ParseDuration(val)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("invalid --filter %q: since takes a duration such as 24h", v)
			}
			preds = append(preds, func(r driver.HistoryRecord) bool { return time.Since(r.Start) <= d })
		default:
			return nil, fmt.Errorf("invalid --filter %q: filter by builder, tag, outcome, command or since", v)
		}
	}
	return func(r driver.HistoryRecord) bool {
		for _, p := range preds {
			if !p(r) {
				return false
			}
		}
		return true
	}, nil
}

func tagsText(tags []string) string {
	switch len(tags) {
	case 0:
		return "-"
	case 1:
		return tags[0]
	}
	return fmt.Sprintf("%s (+%d)", tags[0], len(tags)-1)
}

func newHistoryInspectCommand(dockerCli command.Cli) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] ID",
		Short: "Show one recorded run: its command line, each platform's node, BuildKit reference and digest, and where every tag went",
		Args:  cli.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if _, err := checkFormat(format); err != nil {
				return err
			}
			r, err := service(dockerCli).HistoryRecord(args[0])
			if err != nil {
				return err
			}
			if format != formatTable {
				return writeFormatted(dockerCli.Out(), format, r, nil)
			}
			return writeHistoryRecord(dockerCli, r)
		},
	}
	addFormatFlag(cmd, &format)
	return cmd
}

func writeHistoryRecord(dockerCli command.Cli, r driver.HistoryRecord) error {
	out := dockerCli.Out()
	_, _ = fmt.Fprintf(out, "ID:       %s\nCommand:  %s\nBuilder:  %s\nStarted:  %s\nDuration: %s\nOutcome:  %s\n",
		r.ID, strings.Join(append([]string{"docker"}, r.Args...), " "), orDash(r.Builder), r.Start.Format(time.RFC3339), r.Duration().Round(time.Millisecond), r.Outcome)
	if r.Index != "" {
		_, _ = fmt.Fprintf(out, "Index:    %s\n", r.Index)
	}
	if r.Signed > 0 {
		_, _ = fmt.Fprintf(out, "Signed:   %d manifests\n", r.Signed)
	}
	if r.Error != "" {
		_, _ = fmt.Fprintf(out, "Error:    %s\n", printable(r.Error))
	}
	_, _ = fmt.Fprintln(out)
	if err := writeList(out, formatTable, r.Platforms, []string{"TARGET", "PLATFORM", "NODE", "DIGEST", "DURATION", "BUILDKIT REF", "REPRODUCED"},
		func(p historyPlatform) []string {
			return []string{orDash(p.Target), p.Platform, orDash(p.Node), orDash(p.Digest), fmt.Sprintf("%.1fs", p.Seconds), orDash(p.Ref), orDash(p.Reproduced)}
		}); err != nil {
		return err
	}
	writeHistorySteps(dockerCli, r.Platforms)
	if len(r.TagMoves) == 0 {
		return nil
	}
	_, _ = fmt.Fprintln(out)
	return writeList(out, formatTable, r.TagMoves, []string{"TAG", "BEFORE", "AFTER", "NOTE"}, func(t historyTag) []string {
		return []string{t.Tag, orDash(t.Before), orDash(t.After), orDash(t.Note)}
	})
}

// writeHistorySteps lists each platform's BuildKit steps, in the order they started, with the
// cached and failed ones marked.
func writeHistorySteps(dockerCli command.Cli, platforms []historyPlatform) {
	out := dockerCli.Out()
	for _, p := range platforms {
		if len(p.Vertices) == 0 {
			continue
		}
		_, _ = fmt.Fprintf(out, "\n%s on %s: %d of %d steps cached\n", p.Platform, orDash(p.Node), p.Cached, p.Steps)
		steps := slices.Clone(p.Vertices)
		slices.SortStableFunc(steps, func(a, b driver.HistoryStep) int { return a.Started.Compare(b.Started) })
		for _, s := range steps {
			mark := "     "
			switch {
			case s.Error != "":
				mark = "ERROR"
			case s.Cached:
				mark = "CACHE"
			}
			took := "-"
			if !s.Started.IsZero() && !s.Completed.IsZero() {
				took = s.Completed.Sub(s.Started).Round(time.Millisecond).String()
			}
			_, _ = fmt.Fprintf(out, "  %s %8s  %s\n", mark, took, printable(s.Name))
			if s.Error != "" {
				_, _ = fmt.Fprintf(out, "                  %s\n", printable(s.Error))
			}
		}
	}
}

type (
	historyPlatform = driver.HistoryPlatform
	historyTag      = driver.HistoryTag
)

func newHistoryRmCommand(dockerCli command.Cli) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "rm [OPTIONS] ID [ID...]",
		Short: "Remove recorded runs (every given ID must exist; none is removed otherwise)",
		RunE: func(_ *cobra.Command, ids []string) error {
			if all == (len(ids) > 0) {
				return errors.New("give the IDs of the runs to remove, or --all")
			}
			svc := service(dockerCli)
			if all {
				recs, err := svc.History()
				if err != nil {
					return err
				}
				for _, r := range recs {
					ids = append(ids, r.ID)
				}
			}
			if err := svc.RemoveHistory(ids); err != nil {
				return err
			}
			for _, id := range ids {
				_, _ = fmt.Fprintln(dockerCli.Out(), id)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "Remove every recorded run")
	return cmd
}

// normalizedTag is a tag as the history keeps it (docker.io/library/app:latest for app).
func normalizedTag(s string) string { return driver.NormalizeTag(s) }

// printable is what a build wrote (a step's name, an error), with control characters shown as
// "?": a Dockerfile's escape sequences do not reach the terminal.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}
