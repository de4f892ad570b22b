package main

import (
	"errors"
	"flag"

	eventsapi "github.com/containerd/containerd/api/services/ttrpc/events/v1"
)

func runForward(args []string) error {
	fs := flag.NewFlagSet("forward", flag.ExitOnError)
	socket := fs.String("socket", "", "unix socket of the Events server")
	topic := fs.String("topic", "/berth/test", "event topic")
	ns := fs.String("namespace", "default", "namespace (envelope and metadata)")
	payload := fs.Int("payload-bytes", 0, "bytes in the event Any value")
	fs.Parse(args)
	if *socket == "" {
		return errors.New("--socket is required")
	}

	client, err := newClient(*socket)
	if err != nil {
		return err
	}
	defer client.Close()

	ctx, cancel := nsContext(*ns)
	defer cancel()
	_, err = eventsapi.NewEventsClient(client).Forward(ctx, forwardRequest(*ns, *topic, *payload))
	if err != nil {
		return errors.New(describe(err))
	}
	return nil
}
