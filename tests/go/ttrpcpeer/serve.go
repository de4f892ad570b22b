package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	eventsapi "github.com/containerd/containerd/api/services/ttrpc/events/v1"
	"github.com/containerd/ttrpc"
	"github.com/gogo/protobuf/types"
)

// discardEvents implements Events/Forward and keeps nothing, so a benchmark measures the
// transport and not a store.
type discardEvents struct{}

func (discardEvents) Forward(context.Context, *eventsapi.ForwardRequest) (*types.Empty, error) {
	return &types.Empty{}, nil
}

func runServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	socket := fs.String("socket", "", "unix socket path to listen on")
	fs.Parse(args)
	if *socket == "" {
		return errors.New("--socket is required")
	}

	// Same peer-credential check as containerd's own ttrpc server.
	srv, err := ttrpc.NewServer(ttrpc.WithServerHandshaker(ttrpc.UnixSocketRequireSameUser()))
	if err != nil {
		return err
	}
	eventsapi.RegisterEventsService(srv, discardEvents{})

	os.Remove(*socket) // a stale socket from a killed run would make Listen fail
	l, err := net.Listen("unix", *socket)
	if err != nil {
		return err
	}
	defer os.Remove(*socket)

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background(), l) }()
	fmt.Println("ready") // stdout is unbuffered in Go: the parent sees it immediately

	select {
	case <-sigs:
		srv.Close()
		return nil
	case err := <-served:
		return err
	}
}
