// mdpeer: containerd 1.6's side of bench/metadata/run.sh. It runs, against a containerd, the
// same phases berth-metadata-bench runs against berth-metadata, through containerd's own Go
// client (gRPC), and prints the same "result <metric> <value>" lines:
//
//	containers: create --count records with --inflight calls in flight, get each one (shuffled),
//	            list all (stream), list with a label filter;
//	images:     create --count records, get each one, list all;
//	gc:         --gc-images images, each index -> manifest -> config + 2 layers (5 blobs in the
//	            content store) and a 2-snapshot chain named by the config's gc.ref.snapshot label;
//	            time of a collection that keeps everything (a synchronous delete of a probe
//	            image) and of the one that removes everything once the images are deleted.
//
// containerd must run with GC started only on demand (run.sh's config: startup_delay 1000h, a
// tiny pause_threshold), so that each measured collection is exactly one run.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/containers"
	"github.com/containerd/containerd/content"
	"github.com/containerd/containerd/images"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/snapshots"
	"github.com/gogo/protobuf/types"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"google.golang.org/grpc"
)

const specJSON = `{"ociVersion":"1.1.0","process":{"args":["sh"]}}`

func result(metric string, value float64) { fmt.Printf("result %s %.1f\n", metric, value) }

// pipeline runs call(0..count-1) with `inflight` calls in flight; returns calls per second.
func pipeline(count, inflight int, call func(i int) error) float64 {
	var next, failures int64 = -1, 0
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < inflight; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(atomic.AddInt64(&next, 1))
				if i >= count {
					return
				}
				if err := call(i); err != nil && atomic.AddInt64(&failures, 1) == 1 {
					fmt.Fprintf(os.Stderr, "mdpeer: call %d: %v\n", i, err)
				}
			}
		}()
	}
	wg.Wait()
	rate := float64(count) / time.Since(start).Seconds()
	if failures > 0 {
		fmt.Printf("  (%d calls failed)\n", failures)
	}
	return rate
}

func millis(start time.Time) float64 { return float64(time.Since(start).Microseconds()) / 1000 }

func containerPhases(ctx context.Context, client *containerd.Client, count, inflight int) {
	store := client.ContainerService()
	id := func(i int) string { return fmt.Sprintf("c%06d", i) }
	create := pipeline(count, inflight, func(i int) error {
		_, err := store.Create(ctx, containers.Container{
			ID:          id(i),
			Labels:      map[string]string{"group": strconv.Itoa(i % 100)},
			Image:       "docker.io/library/busybox:latest",
			Runtime:     containers.RuntimeInfo{Name: "io.containerd.runc.v2"},
			Spec:        &types.Any{TypeUrl: "types.containerd.io/opencontainers/runtime-spec/1/Spec", Value: []byte(specJSON)},
			Snapshotter: "overlayfs",
			SnapshotKey: id(i) + "-rw",
		})
		return err
	})
	order := rand.New(rand.NewSource(42)).Perm(count)
	get := pipeline(count, inflight, func(i int) error {
		_, err := store.Get(ctx, id(order[i]))
		return err
	})
	list := func(filters ...string) (int, float64) {
		start := time.Now()
		all, err := store.List(ctx, filters...)
		if err != nil {
			fmt.Fprintf(os.Stderr, "mdpeer: list containers: %v\n", err)
		}
		return len(all), millis(start)
	}
	n, all := list()
	m, some := list("labels.group==7")
	fmt.Printf("containers  create %9.0f/s   get %9.0f/s   list all %d in %.0f ms   list filtered %d in %.0f ms\n",
		create, get, n, all, m, some)
	result("containers.create_per_s", create)
	result("containers.get_per_s", get)
	result("containers.list_all_ms", all)
	result("containers.list_filtered_ms", some)
}

func imagePhases(ctx context.Context, client *containerd.Client, count, inflight int) {
	store := client.ImageService()
	name := func(i int) string { return fmt.Sprintf("registry.example.com/team/app-%d:v%d", i/10, i%10) }
	create := pipeline(count, inflight, func(i int) error {
		_, err := store.Create(ctx, images.Image{Name: name(i), Target: ocispec.Descriptor{
			MediaType: ocispec.MediaTypeImageIndex,
			Digest:    digest.Digest(fmt.Sprintf("sha256:%064x", i+1)),
			Size:      1234,
		}})
		return err
	})
	get := pipeline(count, inflight, func(i int) error {
		_, err := store.Get(ctx, name((i*7919)%count))
		return err
	})
	start := time.Now()
	all, err := store.List(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mdpeer: list images: %v\n", err)
	}
	listed := millis(start)
	fmt.Printf("images      create %9.0f/s   get %9.0f/s   list all %d in %.0f ms\n", create, get, len(all), listed)
	result("images.create_per_s", create)
	result("images.get_per_s", get)
	result("images.list_all_ms", listed)
}

// writeBlob stores data with labels; returns its descriptor.
func writeBlob(ctx context.Context, cs content.Store, mediaType, data string, labels map[string]string) (ocispec.Descriptor, error) {
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromString(data), Size: int64(len(data))}
	err := content.WriteBlob(ctx, cs, "bench-"+desc.Digest.Encoded(), bytes.NewReader([]byte(data)), desc,
		content.WithLabels(labels))
	return desc, err
}

func committedSnapshot(ctx context.Context, sn snapshots.Snapshotter, name, parent string) error {
	if _, err := sn.Prepare(ctx, name+"-extract", parent); err != nil {
		return err
	}
	return sn.Commit(ctx, name, name+"-extract")
}

// addImageObjects writes image i's 5 blobs and 2 snapshots; returns the index descriptor.
func addImageObjects(ctx context.Context, client *containerd.Client, snapshotter string, i int) (ocispec.Descriptor, error) {
	cs := client.ContentStore()
	sn := client.SnapshotService(snapshotter)
	s0, s1 := fmt.Sprintf("s%d-0", i), fmt.Sprintf("s%d-1", i)
	if err := committedSnapshot(ctx, sn, s0, ""); err != nil {
		return ocispec.Descriptor{}, err
	}
	if err := committedSnapshot(ctx, sn, s1, s0); err != nil {
		return ocispec.Descriptor{}, err
	}
	var layers [2]ocispec.Descriptor
	for l := range layers {
		var err error
		if layers[l], err = writeBlob(ctx, cs, ocispec.MediaTypeImageLayerGzip, fmt.Sprintf("layer %d of image %d", l, i), nil); err != nil {
			return ocispec.Descriptor{}, err
		}
	}
	config, err := writeBlob(ctx, cs, ocispec.MediaTypeImageConfig, fmt.Sprintf(`{"image":%d}`, i),
		map[string]string{"containerd.io/gc.ref.snapshot." + snapshotter: s1})
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	manifest, err := writeBlob(ctx, cs, ocispec.MediaTypeImageManifest, fmt.Sprintf(`{"manifest":%d}`, i),
		map[string]string{
			"containerd.io/gc.ref.content.config": config.Digest.String(),
			"containerd.io/gc.ref.content.l.0":    layers[0].Digest.String(),
			"containerd.io/gc.ref.content.l.1":    layers[1].Digest.String(),
		})
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return writeBlob(ctx, cs, ocispec.MediaTypeImageIndex, fmt.Sprintf(`{"index":%d}`, i),
		map[string]string{"containerd.io/gc.ref.content.m.0": manifest.Digest.String()})
}

func counts(ctx context.Context, client *containerd.Client, snapshotter string) (int, int) {
	blobs, snaps := 0, 0
	_ = client.ContentStore().Walk(ctx, func(content.Info) error { blobs++; return nil })
	_ = client.SnapshotService(snapshotter).Walk(ctx, func(context.Context, snapshots.Info) error { snaps++; return nil })
	return blobs, snaps
}

func gcPhase(ctx context.Context, client *containerd.Client, n, inflight int, snapshotter string) error {
	store := client.ImageService()
	name := func(i int) string { return fmt.Sprintf("gc/app-%d", i) }
	var index0 ocispec.Descriptor
	setup := time.Now()
	pipeline(n, 8, func(i int) error {
		index, err := addImageObjects(ctx, client, snapshotter, i)
		if err == nil {
			_, err = store.Create(ctx, images.Image{Name: name(i), Target: index})
		}
		if i == 0 {
			index0 = index
		}
		return err
	})
	blobs, snaps := counts(ctx, client, snapshotter)
	fmt.Printf("gc setup    %d images, %d blobs, %d snapshots in %.0f s\n", n, blobs, snaps, time.Since(setup).Seconds())

	// Keep-all: a probe image deleted synchronously runs one collection over everything.
	if _, err := store.Create(ctx, images.Image{Name: "gc/probe", Target: index0}); err != nil {
		return err
	}
	start := time.Now()
	if err := store.Delete(ctx, "gc/probe", images.SynchronousDelete()); err != nil {
		return err
	}
	keep := millis(start)
	pipeline(n-1, inflight, func(i int) error { return store.Delete(ctx, name(i)) })
	start = time.Now()
	if err := store.Delete(ctx, name(n-1), images.SynchronousDelete()); err != nil {
		return err
	}
	sweep := millis(start)
	left, leftSnaps := counts(ctx, client, snapshotter)
	fmt.Printf("gc          %d images (%d blobs, %d snapshots): keep-all %.0f ms, delete-all %.0f ms (left %d blobs, %d snapshots)\n",
		n, blobs, snaps, keep, sweep, left, leftSnaps)
	result("gc.keep_all_ms", keep)
	result("gc.delete_all_ms", sweep)
	return nil
}

func main() {
	address := flag.String("address", "", "containerd's gRPC socket")
	count := flag.Int("count", 100000, "containers and images")
	inflight := flag.Int("inflight", 64, "calls in flight")
	gcImages := flag.Int("gc-images", 10000, "images for the GC phase (0: none)")
	snapshotter := flag.String("snapshotter", "native", "snapshotter for the GC phase")
	flag.Parse()
	client, err := containerd.New(*address, containerd.WithTimeout(10*time.Second),
		containerd.WithCallOpts([]grpc.CallOption{grpc.MaxCallRecvMsgSize(512 << 20)}))
	if err != nil {
		fmt.Fprintf(os.Stderr, "mdpeer: %v\n", err)
		os.Exit(1)
	}
	defer client.Close()
	ctx := namespaces.WithNamespace(context.Background(), "bench")
	if *count > 0 {
		containerPhases(ctx, client, *count, *inflight)
		imagePhases(ctx, client, *count, *inflight)
	}
	if *gcImages > 0 {
		if err := gcPhase(ctx, client, *gcImages, *inflight, *snapshotter); err != nil {
			fmt.Fprintf(os.Stderr, "mdpeer: gc: %v\n", err)
			os.Exit(1)
		}
	}
}
