// Command guyub runs the Guyub community portal.
//
//	guyub [serve] [--demo] [flags]   serve the portal (the default)
//	guyub admin create --email E --password P [--role admin]
//	guyub admin token --email E --name N --scopes read,write
//	guyub repair                      recompute every counter from the raw documents
//	guyub reindex                     rebuild the search index from MongoDB
//	guyub seed --scale small          generate a community to measure (tiny, small, medium, large)
//	guyub bench --url URL             drive a running portal and print throughput and latency per route
//	guyub migrate --to MONGODB_URI    copy the embedded database to MongoDB (resumable, verified)
//	guyub import KIND FILE.jsonl      bring customers, purchases, reviews, threads or ideas in from another system
//	guyub train-sentiment             build the text analyser's model from ../shared/data/sentiment
//	guyub reanalyze                   give insights every piece of feedback and read it again
//	guyub analyze [--lang en|id|auto] read a text a line on stdin, write its language, sentiment and themes as JSON
//
// With no MONGODB_URI it runs an embedded FerretDB under GUYUB_DATA, so nothing else
// needs installing. Run `guyub --help` for every setting.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// program is main's dependencies, so tests can run it in-process.
type program struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	environ        []string
	listening      func(addr string) // called once the HTTP listener is up; tests use it
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	p := program{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, environ: os.Environ()}
	err := p.run(ctx, os.Args[1:])
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	default:
		fmt.Fprintln(os.Stderr, "guyub:", err)
		os.Exit(1)
	}
}

var commands = map[string]func(p program, ctx context.Context, args []string) error{
	"serve":           program.serve,
	"admin":           program.admin,
	"repair":          program.repair,
	"reindex":         program.reindex,
	"seed":            program.seed,
	"bench":           program.bench,
	"migrate":         program.migrate,
	"import":          program.importFile,
	"train-sentiment": program.trainSentiment,
	"analyze":         program.analyze,
	"reanalyze":       program.reanalyze,
}

func (p program) run(ctx context.Context, args []string) error {
	name := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	cmd, ok := commands[name]
	if !ok {
		return fmt.Errorf("unknown command %q; commands: serve, admin, repair, reindex, seed, bench, migrate, import", name)
	}
	return cmd(p, ctx, args)
}
