package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/docker/cli/cli"
	cliplugin "github.com/docker/cli/cli-plugins/plugin"
	"github.com/spf13/cobra"
)

// Interrupted is the cause of a command's cancelled context when the user or CI stopped it.
type Interrupted struct {
	Signal os.Signal // nil when the docker CLI asked the plugin to stop (it got the signal)
}

func (i Interrupted) Error() string {
	if i.Signal == nil {
		return "interrupted: the docker CLI was asked to stop"
	}
	return "interrupted by " + signalName(i.Signal)
}

// exitCode is the shell's code for a process ended by the signal: 128 + its number.
func (i Interrupted) exitCode() int {
	if s, ok := i.Signal.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 128 + int(syscall.SIGTERM) // the CLI closed our socket: it was told to terminate
}

func signalName(s os.Signal) string {
	switch s {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// handleInterrupts runs before every command. At a terminal Ctrl-C reaches the plugin directly
// (the docker CLI does not relay it), CI cancels a job with SIGTERM to the plugin or its process
// group, and without a terminal the docker CLI closes the plugin socket: all three cancel the
// command's context, with an Interrupted cause, so builds stop their steps, clean up and leave
// every tag as it was. A second signal exits at once.
func handleInterrupts(errOut io.Writer) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if cliplugin.PersistentPreRunE != nil { // set by plugin.Run; unset when commands run in tests
			if err := cliplugin.PersistentPreRunE(cmd, args); err != nil {
				return err
			}
		}
		parent := cmd.Context()
		ctx, cancel := context.WithCancelCause(context.WithoutCancel(parent))
		stop := context.AfterFunc(parent, func() { cancel(Interrupted{}) })
		sigs := make(chan os.Signal, 2)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		done := make(chan struct{})
		go func() {
			defer signal.Stop(sigs)
			var sig os.Signal
			select {
			case sig = <-sigs:
			case <-done:
				return
			}
			stop()
			cancel(Interrupted{Signal: sig})
			_, _ = fmt.Fprintf(errOut, "\n%s: stopping and cleaning up (again to exit at once)\n", signalName(sig))
			select {
			case sig = <-sigs:
				os.Exit(Interrupted{Signal: sig}.exitCode())
			case <-done:
			}
		}()
		cmd.SetContext(context.WithValue(ctx, stopListening{}, func() { close(done) }))
		return nil
	}
}

// stopListening keys the function that ends a command's signal handling once it has returned
// (one command per process in use; many in the tests).
type stopListening struct{}

// withExitStatus gives an interrupted command's error the exit status of the signal (130 for
// SIGINT, 143 for SIGTERM), so shells and CI see an interrupt, not a failure.
func withExitStatus(run func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := run(cmd, args)
		if cmd.Context() != nil {
			if done, ok := cmd.Context().Value(stopListening{}).(func()); ok {
				defer done()
			}
		}
		if err == nil || cmd.Context() == nil || cmd.Context().Err() == nil {
			return err
		}
		var in Interrupted
		if !errors.As(context.Cause(cmd.Context()), &in) {
			return err
		}
		return cli.StatusError{StatusCode: in.exitCode(), Cause: err, Status: in.Error() + ": " + err.Error()}
	}
}

// wrapRunE applies withExitStatus to every command of the tree.
func wrapRunE(cmd *cobra.Command) {
	if cmd.RunE != nil {
		cmd.RunE = withExitStatus(cmd.RunE)
	}
	for _, c := range cmd.Commands() {
		wrapRunE(c)
	}
}
