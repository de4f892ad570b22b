package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	eventsapi "github.com/containerd/containerd/api/services/ttrpc/events/v1"
)

const (
	benchNamespace = "bench"
	benchTopic     = "/berth/bench"
	benchPayload   = 16 // "small envelope": a typical task event is a few dozen bytes
)

type benchResult struct {
	P50us float64 `json:"p50_us"`
	P99us float64 `json:"p99_us"`
	RPS   float64 `json:"rps"`
}

func runBench(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	socket := fs.String("socket", "", "unix socket of the Events server")
	duration := fs.Duration("duration", 3*time.Second, "throughput phase length")
	inflight := fs.Int("inflight", 64, "concurrent callers sharing one connection")
	calls := fs.Int("latency-calls", 20000, "sequential calls in the latency phase")
	fs.Parse(args)
	if *socket == "" || *inflight < 1 || *calls < 1 {
		return errors.New("--socket is required; --inflight and --latency-calls must be >= 1")
	}

	client, err := newClient(*socket)
	if err != nil {
		return err
	}
	defer client.Close()
	events := eventsapi.NewEventsClient(client)

	var res benchResult
	if res.P50us, res.P99us, err = latency(events, *calls); err != nil {
		return err
	}
	if res.RPS, err = throughput(events, *inflight, *duration); err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// call makes one Forward with the bench envelope; the request is rebuilt each time, as a real
// publisher would (timestamp changes).
func call(events eventsapi.EventsService) error {
	ctx, cancel := nsContext(benchNamespace)
	defer cancel()
	_, err := events.Forward(ctx, forwardRequest(benchNamespace, benchTopic, benchPayload))
	return err
}

// latency runs sequential calls (after a short warm-up that is not measured) and returns the
// p50 and p99 round trip in microseconds.
func latency(events eventsapi.EventsService, n int) (p50, p99 float64, err error) {
	for i := 0; i < n/10; i++ {
		if err := call(events); err != nil {
			return 0, 0, fmt.Errorf("warm-up: %s", describe(err))
		}
	}
	samples := make([]time.Duration, n)
	for i := range samples {
		start := time.Now()
		if err := call(events); err != nil {
			return 0, 0, fmt.Errorf("latency call %d: %s", i, describe(err))
		}
		samples[i] = time.Since(start)
	}
	sort.Slice(samples, func(a, b int) bool { return samples[a] < samples[b] })
	pct := func(p float64) float64 {
		return float64(samples[int(p*float64(n-1))].Nanoseconds()) / 1e3
	}
	return pct(0.50), pct(0.99), nil
}

// throughput runs `inflight` goroutines on the one shared client until `d` has passed and
// returns completed calls per second. Any failed call fails the benchmark: a number measured
// over errors would be meaningless.
func throughput(events eventsapi.EventsService, inflight int, d time.Duration) (float64, error) {
	var (
		done     int64
		errOnce  sync.Once
		firstErr error
	)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()

	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < inflight; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if err := call(events); err != nil {
					errOnce.Do(func() { firstErr = err })
					cancel()
					return
				}
				atomic.AddInt64(&done, 1)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, fmt.Errorf("throughput call: %s", describe(firstErr))
	}
	return float64(atomic.LoadInt64(&done)) / time.Since(start).Seconds(), nil
}
