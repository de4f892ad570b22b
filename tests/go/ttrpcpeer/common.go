package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"time"

	eventsapi "github.com/containerd/containerd/api/services/ttrpc/events/v1"
	"github.com/containerd/ttrpc"
	"github.com/gogo/protobuf/types"
	"google.golang.org/grpc/status"
)

const (
	eventsService = "containerd.services.events.ttrpc.v1.Events"
	forwardMethod = "Forward"
	// containerd puts the namespace in this metadata key on every ttrpc call.
	namespaceKey = "containerd-namespace-ttrpc"
	// Test events are containerd.events.TaskOOM{container_id(1)} (bare type URL, as containerd
	// 1.6 expects), so `ctr events` and Berth's subscribers can decode them; --payload-bytes
	// sets the length of container_id.
	payloadTypeURL = "containerd.events.TaskOOM"
	callTimeout    = 10 * time.Second
)

// dial connects to a unix socket (never abstract: the path is used verbatim).
func dial(socket string) (net.Conn, error) {
	return net.DialTimeout("unix", socket, 5*time.Second)
}

// newClient dials and wraps the connection in one ttrpc client.
func newClient(socket string) (*ttrpc.Client, error) {
	conn, err := dial(socket)
	if err != nil {
		return nil, err
	}
	return ttrpc.NewClient(conn), nil
}

// forwardRequest builds a complete, valid ForwardRequest. Every field is set because
// containerd's exchange rejects a zero timestamp and dereferences the event when logging.
func forwardRequest(ns, topic string, payloadBytes int) *eventsapi.ForwardRequest {
	return &eventsapi.ForwardRequest{Envelope: &eventsapi.Envelope{
		Timestamp: time.Now().UTC(),
		Namespace: ns,
		Topic:     topic,
		Event:     &types.Any{TypeUrl: payloadTypeURL, Value: taskOOM(payloadBytes)},
	}}
}

// taskOOM encodes TaskOOM{container_id: n times 'x'} by hand (field 1, wire type 2), so the
// peer needs no import of containerd's events package for one string field.
func taskOOM(n int) []byte {
	if n <= 0 {
		return nil
	}
	b := binary.AppendUvarint([]byte{0x0a}, uint64(n))
	return append(b, bytes.Repeat([]byte{'x'}, n)...)
}

// nsContext returns a context with a deadline and the namespace metadata containerd expects.
func nsContext(ns string) (context.Context, context.CancelFunc) {
	ctx := ttrpc.WithMetadata(context.Background(), ttrpc.MD{namespaceKey: []string{ns}})
	return context.WithTimeout(ctx, callTimeout)
}

// describe renders an error as "code=<gRPC code name> message=<quoted>" when it carries a
// status, which is what the C++ tests grep for.
func describe(err error) string {
	if err == nil {
		return "code=OK"
	}
	if st, ok := status.FromError(err); ok {
		return fmt.Sprintf("code=%s message=%q", st.Code(), st.Message())
	}
	return fmt.Sprintf("code=none error=%q", err.Error())
}
