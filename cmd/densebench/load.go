package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"

	"github.com/densecl/densecl/bench"
)

// loadUsage is densebench load's help.
const loadUsage = `densebench load: C clients send single-sample inference requests back to
back, for a fixed time, to an Open Inference Protocol server in another
process (denseserve, or any KServe v2 server), and print throughput and
client-side latency percentiles.

  densebench load -url http://127.0.0.1:8000 -model NAME [-binary] [-concurrency 64] [-duration 10s] [-json]
  densebench load -grpc 127.0.0.1:8001 -model NAME [-binary] [-concurrency 64] [-duration 10s] [-json]

The input is one random sample of the shape the model's metadata gives.
-binary sends REST bodies with the binary tensor data extension (and asks
for binary outputs), or gRPC raw_input_contents. -server-pid PID reads the
server's resident memory at 10 s and at the end. With -json the result is
one {"kind":"load",...} line on stdout.

The first answer is checked in full, then each answer's status and size.
Each REST client keeps one HTTP/1.1 connection; the gRPC clients share
-conns HTTP/2 connections (1) through the load's own client, which sends
the encoded request and counts the answer's bytes (-grpc-client: gRPC's
Go client instead, at about twice the CPU time per call). -cpuprofile FILE
writes the load generator's own CPU profile.

  densebench load -write-repos DIR

writes the README's two model repositories, DIR/batched and DIR/unbatched
(the MLP and the seed model; max_batch_size 64 and 1), for denseserve.
`

func init() { subUsage["load"] = loadUsage }

func cmdLoad(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	var o bench.LoadOptions
	fs.StringVar(&o.URL, "url", "", "the server's REST base URL, http://host:port")
	fs.StringVar(&o.GRPC, "grpc", "", "the server's gRPC address, host:port")
	fs.StringVar(&o.Model, "model", "", "the model's name (required)")
	fs.StringVar(&o.Version, "version", "", "the model's version (default: the server's choice)")
	fs.IntVar(&o.Concurrency, "concurrency", 64, "concurrent clients")
	fs.DurationVar(&o.Duration, "duration", 0, "how long to send (default 10s)")
	fs.BoolVar(&o.Binary, "binary", false, "binary tensors: REST binary tensor data extension, gRPC raw contents")
	fs.IntVar(&o.Conns, "conns", 1, "gRPC: connections the clients share (round robin)")
	fs.BoolVar(&o.GRPCClient, "grpc-client", false, "gRPC: send every request with gRPC's own Go client (it costs more CPU per call than the load's HTTP/2 client)")
	fs.IntVar(&o.ServerPID, "server-pid", 0, "the server's process id, to read its resident memory at 10 s and at the end (Linux)")
	asJSON := fs.Bool("json", false, "one JSON line on stdout")
	cpuProfile := fs.String("cpuprofile", "", "write the load generator's own CPU profile to `FILE` (go tool pprof reads it)")
	writeRepos := fs.String("write-repos", "", "write the README's two model repositories (batched, unbatched) under `DIR` and exit")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	if *writeRepos != "" {
		if err := bench.WriteLoadRepositories(*writeRepos); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s/batched and %s/unbatched (models mlp and seed)\n", *writeRepos, *writeRepos)
		return nil
	}
	switch {
	case fs.NArg() > 0:
		return usagef("load: unexpected argument %q", fs.Arg(0))
	case (o.URL == "") == (o.GRPC == ""):
		return usagef("load: give one of -url and -grpc")
	case o.Model == "":
		return usagef("load: -model is required")
	case o.Concurrency < 1:
		return usagef("load: -concurrency %d: want 1 or more", o.Concurrency)
	case o.Conns < 1 || o.Conns > o.Concurrency:
		return usagef("load: -conns %d: want 1 to -concurrency (%d)", o.Conns, o.Concurrency)
	case o.Duration < 0:
		return usagef("load: -duration %v: want a positive duration", o.Duration)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return usageErr(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := bench.Load(ctx, o)
	if err != nil {
		if bench.IsInputError(err) {
			return usageErr(err)
		}
		return err
	}
	if *asJSON {
		if err := json.NewEncoder(stdout).Encode(res); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "load    %s %s model %s, %d clients, %.1f s\n", res.Protocol, res.Target, res.Model, res.Concurrency, res.DurationS)
		fmt.Fprintf(stdout, "        %d requests, %d failed, %.0f samples/s\n", res.Requests, res.Failures, res.SamplesPerS)
		fmt.Fprintf(stdout, "        latency p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms\n", res.P50MS, res.P99MS, res.P999MS, res.MaxMS)
		if line := rssLine(res); line != "" {
			fmt.Fprintln(stdout, line)
		}
		if res.FirstError != "" {
			fmt.Fprintf(stdout, "        first failure: %s\n", res.FirstError)
		}
	}
	if res.Failures > 0 {
		return fmt.Errorf("load: %d of %d requests failed, the first: %s", res.Failures, res.Failures+res.Requests, res.FirstError)
	}
	return nil
}

// rssLine is the text line of the server's resident memory, "" where it
// was not read; a run shorter than 10 s has no reading at 10 s.
func rssLine(res bench.LoadResult) string {
	switch {
	case res.RSSEndMiB <= 0:
		return ""
	case res.RSS10sMiB <= 0:
		return fmt.Sprintf("        server RSS %.1f MiB at the end (none at 10 s: the run was shorter)", res.RSSEndMiB)
	}
	return fmt.Sprintf("        server RSS %.1f MiB at 10 s, %.1f MiB at the end", res.RSS10sMiB, res.RSSEndMiB)
}
