package livesafe_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/etcdisk/etcdisk/bench/livesafe"
	"github.com/etcdisk/etcdisk/internal/fusetest"
)

var update = flag.Bool("update", false, "rewrite testdata/etcd-metrics.txt from the embedded member")

// TestPausesWhenLiveMemberSlows runs a real etcd member (embedded) whose data
// directory is on a FUSE mount that delays every fsync by 30 ms: its own
// etcd_disk_wal_fsync_duration_seconds p99 goes over 10 ms as soon as it
// writes. The watcher, scraping the member's /metrics, must pause; when the
// writes stop and the slow fsyncs leave the window, it must resume.
func TestPausesWhenLiveMemberSlows(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an etcd member")
	}
	fsys := fusetest.Mount(t, t.TempDir(), fusetest.Options{DelayEvery: 1, Delay: 30 * time.Millisecond})
	e := startEtcd(t, fsys.Dir)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	metricsURL := e.Clients[0].Addr().String()
	w, err := livesafe.Watch(ctx, livesafe.Config{
		URL:      "http://" + metricsURL + "/metrics",
		Window:   2 * time.Second,
		Interval: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	cli, err := clientv3.New(clientv3.Config{
		Endpoints: []string{metricsURL}, DialTimeout: 10 * time.Second, Logger: zap.NewNop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()

	// Write until the watcher pauses (each put is one WAL fsync, 30 ms).
	for i := 0; !w.Paused(); i++ {
		if ctx.Err() != nil {
			t.Fatalf("no pause after %d puts on a disk with 30 ms fsyncs; last sample %+v", i, w.Last())
		}
		if _, err := cli.Put(ctx, fmt.Sprintf("/k/%d", i), "v"); err != nil {
			t.Fatal(err)
		}
	}
	p := w.Pauses()[0]
	t.Logf("paused: %s (fsyncs seen by the mount: %d delayed)", p.Reason, fsys.Counts().Delayed)
	if p.P99 <= 10*time.Millisecond {
		t.Fatalf("paused with p99 %v, not over the 10 ms threshold", p.P99)
	}
	// The load stops while paused (as etcdisk's does): the member goes
	// idle, the slow fsyncs leave the 2 s window, the watcher resumes.
	if err := w.Wait(ctx); err != nil {
		t.Fatalf("not resumed after the writes stopped: %v; last sample %+v", err, w.Last())
	}
	ps := w.Pauses()
	if len(ps) != 1 || ps[0].End.IsZero() {
		t.Fatalf("pauses %+v, want one, ended", ps)
	}
	t.Logf("resumed after %v", ps[0].Duration().Round(time.Millisecond))

	if *update {
		resp, err := http.Get("http://" + metricsURL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", "etcd-metrics.txt"), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// startEtcd starts a single member with its data in dir, on free
// 127.0.0.1 ports, and closes it when the test ends.
func startEtcd(t *testing.T, dir string) *embed.Etcd {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		us := freeURLs(t, 2)
		cu, pu := us[0], us[1]
		cfg := embed.NewConfig()
		cfg.Name = "livesafe-test"
		cfg.Dir = dir + "/etcd"
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
		cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
		cfg.LogLevel = "error"
		// Closing logs "server closed" errors: keep the test output clean.
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
		e, err := embed.StartEtcd(cfg)
		if err != nil {
			lastErr = err
			continue
		}
		t.Cleanup(e.Close)
		select {
		case <-e.Server.ReadyNotify():
			return e
		case err := <-e.Err():
			t.Fatalf("etcd failed to start: %v", err)
		case <-time.After(60 * time.Second):
			t.Fatal("etcd not ready after 60s")
		}
	}
	t.Fatalf("start etcd: %v", lastErr)
	return nil
}

// freeURLs finds n distinct free ports (all held until chosen).
func freeURLs(t *testing.T, n int) []url.URL {
	t.Helper()
	var us []url.URL
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		us = append(us, url.URL{Scheme: "http", Host: l.Addr().String()})
	}
	return us
}
