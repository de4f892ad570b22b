package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/containerd/ttrpc"
	"github.com/gogo/protobuf/proto"
	"google.golang.org/grpc/codes"
)

// Hand-rolled ttrpc framing for the cases a ttrpc.Client refuses to produce (even stream ids,
// undecodable Request envelopes, stray Data frames). Layout: u32 BE length, u32 BE stream id,
// u8 type, u8 flags, then the body.
const (
	frameRequest  = 1
	frameResponse = 2
	frameData     = 3
	frameMax      = 4 << 20
	frameTimeout  = 5 * time.Second
)

// rawConn is one socket driven frame by frame.
type rawConn struct{ conn net.Conn }

func (c *rawConn) send(id uint32, typ, flags byte, body []byte) error {
	hdr := make([]byte, 10, 10+len(body))
	binary.BigEndian.PutUint32(hdr[0:4], uint32(len(body)))
	binary.BigEndian.PutUint32(hdr[4:8], id)
	hdr[8], hdr[9] = typ, flags
	c.conn.SetWriteDeadline(time.Now().Add(frameTimeout))
	_, err := c.conn.Write(append(hdr, body...)) // one write: no interleaving to worry about
	return err
}

// awaitResponse reads frames until the Response for `id` arrives or `wait` passes; frames for
// other ids are skipped (a server may answer in any order).
func (c *rawConn) awaitResponse(id uint32, wait time.Duration) (*ttrpc.Response, error) {
	c.conn.SetReadDeadline(time.Now().Add(wait))
	hdr := make([]byte, 10)
	for {
		if _, err := io.ReadFull(c.conn, hdr); err != nil {
			return nil, err
		}
		n := binary.BigEndian.Uint32(hdr[0:4])
		if n > frameMax {
			return nil, fmt.Errorf("server sent a %d-byte frame", n)
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(c.conn, body); err != nil {
			return nil, err
		}
		if binary.BigEndian.Uint32(hdr[4:8]) != id || hdr[8] != frameResponse {
			continue
		}
		var resp ttrpc.Response
		if err := proto.Unmarshal(body, &resp); err != nil {
			return nil, fmt.Errorf("undecodable response: %v", err)
		}
		return &resp, nil
	}
}

// responseLine renders a decoded Response like describe() renders a client error.
func responseLine(resp *ttrpc.Response) string {
	if resp.Status == nil || resp.Status.Code == 0 {
		return fmt.Sprintf("code=OK payload_bytes=%d", len(resp.Payload))
	}
	return fmt.Sprintf("code=%s message=%q", codes.Code(resp.Status.Code), resp.Status.Message)
}

// validForwardFrame is a well-formed Forward request body, used to prove the connection
// still works after a bad frame.
func validForwardFrame() ([]byte, error) {
	payload, err := proto.Marshal(forwardRequest("default", "/berth/raw", 0))
	if err != nil {
		return nil, err
	}
	return proto.Marshal(&ttrpc.Request{
		Service:  eventsService,
		Method:   forwardMethod,
		Payload:  payload,
		Metadata: []*ttrpc.KeyValue{{Key: namespaceKey, Value: "default"}},
	})
}
