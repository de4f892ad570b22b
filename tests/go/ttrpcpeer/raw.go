package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/containerd/ttrpc"
	"google.golang.org/grpc/status"
)

// rawMsg lets a ttrpc.Client carry arbitrary payload bytes: gogo's proto.Marshal/Unmarshal
// call these methods instead of reflecting over fields.
type rawMsg struct{ b []byte }

func (m *rawMsg) Reset()                   { m.b = nil }
func (m *rawMsg) String() string           { return fmt.Sprintf("raw[%d]", len(m.b)) }
func (m *rawMsg) ProtoMessage()            {}
func (m *rawMsg) Marshal() ([]byte, error) { return m.b, nil }
func (m *rawMsg) Unmarshal(b []byte) error { m.b = append([]byte(nil), b...); return nil }

// A case sends something malformed and returns the answer line; an error means the server
// did not answer or the connection did not survive.
type rawCase struct {
	run   func(socket string) (string, error)
	inAll bool // false for cases only ttrpc >= 1.2 servers answer
}

// undecodable protobuf: field 1 (bytes) claiming a length far past the end.
var garbage = []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01}

var rawCases = map[string]rawCase{
	// Through ttrpc.Client: the Request envelope is fine, the call is not. A Forward without
	// an envelope is valid protobuf; the Go server of `serve` answers OK.
	"empty-payload":   {clientCase(eventsService, forwardMethod, nil), true},
	"bad-payload":     {clientCase(eventsService, forwardMethod, garbage), true},
	"unknown-service": {clientCase("berth.test.v1.NoSuchService", forwardMethod, nil), true},
	"unknown-method":  {clientCase(eventsService, "NoSuchMethod", nil), true},
	"oversize":        {clientCase(eventsService, forwardMethod, bytes.Repeat([]byte{'x'}, frameMax+1)), true},
	// Hand-made frames.
	"even-stream":  {frameCase(2, frameRequest, nil, true), true},
	"bad-envelope": {frameCase(1, frameRequest, garbage, false), true},
	"zero-length":  {frameCase(1, frameRequest, []byte{}, false), true},
	// ttrpc 1.1 (containerd 1.6) ignores non-Request frames; 1.2 answers INVALID_ARGUMENT.
	"data-unknown-stream": {frameCase(1, frameData, []byte("stray"), false), false},
}

func caseNames() string {
	names := make([]string, 0, len(rawCases))
	for n := range rawCases {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ") + ", all (every case except data-unknown-stream).\n" +
		"          Warning: empty-payload kills containerd 1.6 (its Forward dereferences the\n" +
		"          missing envelope and the panic is not recovered); aim it at Berth or serve."
}

func runRaw(args []string) error {
	fs := flag.NewFlagSet("raw", flag.ExitOnError)
	socket := fs.String("socket", "", "unix socket of the server under test")
	which := fs.String("case", "all", "case name or all")
	fs.Parse(args)
	if *socket == "" {
		return errors.New("--socket is required")
	}
	var names []string
	for n, c := range rawCases {
		if *which == n || (*which == "all" && c.inAll) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("unknown case %q; cases: %s", *which, caseNames())
	}
	sort.Strings(names)

	failed := 0
	for _, n := range names {
		line, err := rawCases[n].run(*socket)
		if err != nil {
			failed++
			line = fmt.Sprintf("%s FAIL: %v", line, err)
		}
		fmt.Printf("%s %s\n", n, line)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d cases not answered or connection lost", failed, len(names))
	}
	return nil
}

// answered reports whether err is a server answer (OK or a status) rather than a transport
// failure (closed connection, timeout).
func answered(err error) bool {
	_, ok := status.FromError(err)
	return ok
}

// clientCase calls service/method with payload verbatim, then makes a valid Forward on the
// same client to prove the connection survived.
func clientCase(service, method string, payload []byte) func(string) (string, error) {
	return func(socket string) (string, error) {
		client, err := newClient(socket)
		if err != nil {
			return "", err
		}
		defer client.Close()
		ctx, cancel := nsContext("default")
		defer cancel()
		err = client.Call(ctx, service, method, &rawMsg{payload}, &rawMsg{})
		line := describe(err)
		if !answered(err) {
			return line, errors.New("no answer")
		}
		return line, followUp(client)
	}
}

func followUp(client *ttrpc.Client) error {
	ctx, cancel := nsContext("default")
	defer cancel()
	var resp rawMsg
	req := forwardRequest("default", "/berth/raw", 0)
	if err := client.Call(ctx, eventsService, forwardMethod, req, &resp); !answered(err) {
		return fmt.Errorf("connection dead afterwards: %v", err)
	}
	return nil
}

// frameCase writes one hand-made frame on a fresh connection (a nil body with sendValid means
// "a valid Forward request body"), waits for the Response on that id, then sends a valid
// Forward on the next odd id.
func frameCase(id uint32, typ byte, body []byte, sendValid bool) func(string) (string, error) {
	return func(socket string) (string, error) {
		conn, err := dial(socket)
		if err != nil {
			return "", err
		}
		defer conn.Close()
		rc := &rawConn{conn}
		valid, err := validForwardFrame()
		if err != nil {
			return "", err
		}
		if sendValid {
			body = valid
		}
		if err := rc.send(id, typ, 0, body); err != nil {
			return "", err
		}
		resp, err := rc.awaitResponse(id, 2*time.Second)
		if err != nil {
			return "no-answer", err
		}
		line := responseLine(resp)
		next := id + 1 + id%2 // next odd id, strictly greater
		if err := rc.send(next, frameRequest, 0, valid); err != nil {
			return line, fmt.Errorf("connection dead afterwards: %v", err)
		}
		if _, err := rc.awaitResponse(next, frameTimeout); err != nil {
			return line, fmt.Errorf("connection dead afterwards: %v", err)
		}
		return line, nil
	}
}
