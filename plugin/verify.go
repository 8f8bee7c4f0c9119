package plugin

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/containerd/platforms"
	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-multiarch/docker-multiarch/driver"
	"github.com/docker-multiarch/docker-multiarch/internal/bounded"
)

type verifyOptions struct {
	key       string
	require   []string
	platforms []string
	format    string
	timeout   time.Duration
}

// maxGap is the most of one gap verify prints.
const maxGap = 1000

func newVerifyCommand(dockerCli command.Cli) *cobra.Command {
	var opts verifyOptions
	cmd := &cobra.Command{
		Use:   "verify [OPTIONS] REF",
		Short: "Check that every variant of an image is signed and attested",
		Long: `Walk an image (a tag or digest): the index's signature, each platform's image's signature,
and its attestations (signed, about that image, and of every kind --require names), in cosign's
signature layout (sha256-DIGEST.sig tags, or, where the registry serves the OCI 1.1 referrers API,
signature referrers), with the public key --key. A table (or --format json)
says what each manifest has; the command fails naming every gap.`,
		Example: `  docker multiarch verify registry.example.com/app:1.4 --key cosign.pub
  docker multiarch verify registry.example.com/app:1.4 --key cosign.pub --require provenance,sbom --platform linux/arm64`,
		Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVerify(cmd, dockerCli, args[0], opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.key, "key", "", `Public key the signatures must verify with (a PEM file, e.g. cosign.pub, or "env://VAR")`)
	f.StringSliceVar(&opts.require, "require", nil, `Attestations every platform must have: "provenance", "sbom"`)
	f.StringArrayVar(&opts.platforms, "platform", nil, "Check only this platform (repeatable; it must be in the image)")
	addFormatFlag(cmd, &opts.format)
	addTimeoutFlag(cmd, &opts.timeout, "How long the registry may take to answer")
	return cmd
}

// verifyInput checks the flags and turns them into the verify's options, before anything runs.
func verifyInput(ref string, opts verifyOptions) (driver.VerifyOptions, error) {
	o := driver.VerifyOptions{Ref: ref, Timeout: opts.timeout}
	if err := checkTimeout(opts.timeout); err != nil {
		return o, err
	}
	if _, err := checkFormat(opts.format); err != nil {
		return o, err
	}
	for _, r := range opts.require {
		if r = strings.TrimSpace(r); r != "provenance" && r != "sbom" {
			return o, fmt.Errorf("invalid --require %q: give provenance, sbom or both", r)
		}
		o.Require = append(o.Require, strings.TrimSpace(r))
	}
	for _, p := range opts.platforms {
		pl, err := platforms.Parse(p)
		if err != nil {
			return o, fmt.Errorf("invalid --platform %q: %w", p, err)
		}
		if f := platforms.Format(platforms.Normalize(pl)); !slices.Contains(o.Platforms, f) {
			o.Platforms = append(o.Platforms, f)
		}
	}
	if opts.key == "" {
		return o, errors.New("verify needs --key: the public key the signatures must verify with (cosign.pub)")
	}
	key, err := driver.LoadPublicKey(opts.key)
	if err != nil {
		return o, err
	}
	o.Key = key
	return o, nil
}

func runVerify(cmd *cobra.Command, dockerCli command.Cli, ref string, opts verifyOptions) error {
	o, err := verifyInput(ref, opts)
	if err != nil {
		return err
	}
	verdicts, err := service(dockerCli).Verify(cmd.Context(), o)
	if err != nil {
		return err
	}
	if err := writeList(dockerCli.Out(), opts.format, verdicts,
		[]string{"PLATFORM", "DIGEST", "SIGNED", "PROVENANCE", "SBOM", "RESULT"},
		func(v driver.Verdict) []string {
			result := "ok"
			if !v.OK() {
				result = "FAIL"
			}
			prov, sbom := yesNo(v.Provenance), yesNo(v.SBOM)
			if v.Platform == "index" {
				prov, sbom = "-", "-"
			}
			return []string{v.Platform, orDash(v.Digest), yesNo(v.Signed), prov, sbom, result}
		}); err != nil {
		return err
	}
	var gaps []string
	for _, v := range verdicts {
		for _, g := range v.Gaps {
			// a gap can carry a registry's words: cut, and no escape sequence reaches the terminal
			gaps = append(gaps, fmt.Sprintf("  %s %s: %s", v.Platform, shortDigest(v.Digest), printable(bounded.Cut(g, maxGap))))
		}
	}
	if len(gaps) > 0 {
		return fmt.Errorf("%s does not verify with %s:\n%s", ref, opts.key, strings.Join(gaps, "\n"))
	}
	return nil
}
