// Command ttrpc-peer is the Go reference peer for Berth's ttrpc interoperability tests and
// side-by-side benchmarks. It uses the real github.com/containerd/ttrpc (v1.1.x, unary only, as
// vendored by containerd 1.6) and containerd's generated events API, so whatever Berth does on
// the wire is checked against the implementation containerd and its shims actually run.
//
// Subcommands: serve, forward, bench, raw (see usage below).
package main

import (
	"fmt"
	"os"
)

const usage = `usage: ttrpc-peer COMMAND [flags]

  serve   --socket PATH
          Events/Forward server; prints "ready" once listening; exits on SIGTERM/SIGINT.
  forward --socket PATH --topic T --namespace NS [--payload-bytes N]
          one Forward call; exit 0 on success, else the error (with its code) on stderr, exit 1.
  bench   --socket PATH [--duration 3s] [--inflight 64] [--latency-calls 20000]
          prints {"p50_us":..,"p99_us":..,"rps":..}
  raw     --socket PATH [--case NAME|all]
          malformed requests; one line per case; exit 0 if every case was answered and the
          connection still worked afterwards. Cases: %s
`

// commands is the dispatch table; each entry parses its own flags from args.
var commands = map[string]func(args []string) error{
	"serve":   runServe,
	"forward": runForward,
	"bench":   runBench,
	"raw":     runRaw,
}

func main() {
	if len(os.Args) < 2 || commands[os.Args[1]] == nil {
		fmt.Fprintf(os.Stderr, usage, caseNames())
		os.Exit(2)
	}
	if err := commands[os.Args[1]](os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "ttrpc-peer %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
