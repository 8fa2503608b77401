// Package calibrate measures what a real etcd reports on a disk: it starts a
// single-member etcd in this process (go.etcd.io/etcd/server/v3/embed) with
// its data directory on the disk under test, drives puts into it open-loop
// from an in-process client, and reads etcd's own disk metrics
// (etcd_disk_wal_fsync_duration_seconds,
// etcd_disk_backend_commit_duration_seconds) from its Prometheus registry.
// These are the reference numbers etcdisk's model must predict.
//
// NB: etcd registers its metrics in the process-wide default Prometheus
// registry, so calibrations in one process run one at a time (Run
// serialises them) and every number is a delta over the measured window.
package calibrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/etcdisk/etcdisk/bench/pace"
	"github.com/etcdisk/etcdisk/internal/etcdbuckets"
	"github.com/etcdisk/etcdisk/internal/runfolder"
	"github.com/etcdisk/etcdisk/report"
)

// Defaults: the load of `etcdctl check perf --load s` with 1 KiB values.
const (
	DefaultRate        = 150
	DefaultValueSize   = 1024
	DefaultDuration    = 20 * time.Second
	DefaultWarmup      = 2 * time.Second
	DefaultMaxInFlight = 4096
	// DefaultKeySpace is how many distinct keys puts cycle through.
	DefaultKeySpace = 100000
	// DefaultTolerance bounds the model's WAL fsync mean over the real
	// etcd's: within 1/DefaultTolerance..DefaultTolerance (0.75-1.33) the
	// model predicts etcd (etcdisk calibrate, scripts/fidelity.sh).
	DefaultTolerance = 1.33
)

// etcd's metric names.
const (
	MetricWALFsync      = etcdbuckets.MetricWALFsync
	MetricBackendCommit = etcdbuckets.MetricBackendCommit
	MetricWALWriteBytes = etcdbuckets.MetricWALWriteBytes
	MetricDBSize        = etcdbuckets.MetricDBSize
)

// Bucket is one cumulative bucket of a Prometheus histogram.
type Bucket = etcdbuckets.Bucket

// Config of a calibration. Zero values mean the defaults above, except
// Warmup: 0 means none (DefaultWarmup is what a command line should offer).
type Config struct {
	// Dir is the directory on the disk under test. A fresh marked folder
	// (see runfolder: etcdisk clean finds it if the process is killed) is
	// created in it for etcd's data and removed afterwards. Required.
	Dir string `json:"dir"`
	// Version is etcdisk's version, recorded in the folder's marker.
	Version string `json:"-"`
	// Rate is the put arrival rate per second (open loop, constant spacing).
	Rate float64 `json:"rate"`
	// ValueSize is the size of each value in bytes (pseudo-random bytes).
	ValueSize int `json:"value_size"`
	// KeySize, when > 0, pads or cuts each key to exactly this many bytes;
	// 0 keeps the natural "/registry/pods/default/pod-NNNNN" (32 bytes).
	KeySize int `json:"key_size"`
	// Duration is the measured window; Warmup runs the same load before it,
	// unmeasured (it covers the first WAL segment's extent conversions and
	// bbolt's first growth).
	Duration time.Duration `json:"duration_ns"`
	Warmup   time.Duration `json:"warmup_ns"`
	// MaxInFlight bounds the puts waiting for etcd; beyond it the arrival
	// loop waits (latency still counts from each put's scheduled arrival).
	MaxInFlight int `json:"max_in_flight"`
	// KeySpace is how many distinct keys the puts cycle through.
	KeySpace int `json:"key_space"`
}

// Metric is one etcd histogram over the measured window.
type Metric struct {
	Count uint64        `json:"count"`
	Sum   time.Duration `json:"sum_ns"`
	Mean  time.Duration `json:"mean_ns"`
	// P50 and P99 are interpolated from the buckets as Prometheus'
	// histogram_quantile does: what etcd's Grafana panels show.
	P50 time.Duration `json:"p50_ns"`
	P99 time.Duration `json:"p99_ns"`
	// Buckets are cumulative counts per upper bound in seconds, etcd's 14
	// exponential buckets (1 ms .. 8.192 s) and +Inf.
	Buckets []Bucket `json:"buckets"`
}

// Quantile interpolates the q-quantile (0..1) from the buckets.
func (m Metric) Quantile(q float64) time.Duration {
	return seconds(etcdbuckets.Quantile(q, m.Buckets))
}

// Result of a calibration.
type Result struct {
	Config  Config        `json:"config"`     // with defaults filled in
	Elapsed time.Duration `json:"elapsed_ns"` // measured window, from the first arrival to the last reply
	Puts    int64         `json:"puts"`       // puts that succeeded in the window
	Errors  int64         `json:"errors"`     // puts that failed in the window
	// WALFsync and BackendCommit are etcd's own metrics over the window.
	WALFsync      Metric `json:"wal_fsync"`
	BackendCommit Metric `json:"backend_commit"`
	// WALWriteBytes is what etcd wrote to its WAL in the window.
	WALWriteBytes int64 `json:"wal_write_bytes"`
	// DBSizeBytes is etcd_mvcc_db_total_size_in_bytes at the end.
	DBSizeBytes int64 `json:"db_size_bytes"`
	// FsyncsPerPut is WAL fsyncs / puts: 1 means no batching.
	FsyncsPerPut float64 `json:"fsyncs_per_put"`
	// PutLatency is the client-side put latency in ns, from each put's
	// scheduled arrival to its reply (1 us .. 1 h, 3 significant digits).
	PutLatency *hdrhistogram.Histogram `json:"-"`
	// Warnings say why the numbers may not describe the disk alone.
	Warnings []string `json:"warnings,omitempty"`
}

// serial serialises calibrations: etcd's metrics are process-wide.
var serial sync.Mutex

// Run starts an etcd in a new folder under cfg.Dir, drives the load, reads
// the metrics and removes everything it created, also on error or when ctx
// is cancelled.
func Run(ctx context.Context, cfg Config) (res *Result, err error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	serial.Lock()
	defer serial.Unlock()

	folder, err := runfolder.Create(cfg.Dir, runfolder.NewMarker(runfolder.RoleRun, cfg.Version))
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	dataDir := folder.Path
	defer func() {
		if rerr := folder.Remove(); rerr != nil && err == nil {
			err = fmt.Errorf("calibrate: remove %s: %w", dataDir, rerr)
		}
	}()

	var logs syncBuffer
	e, err := startEtcd(ctx, dataDir, &logs)
	if err != nil {
		return nil, err
	}
	defer e.Close()

	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{e.Clients[0].Addr().String()},
		DialTimeout: 10 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("calibrate: client: %w", err)
	}
	defer cli.Close()

	d := newDriver(cli, cfg)
	if cfg.Warmup > 0 {
		if _, err := d.drive(ctx, cfg.Warmup); err != nil {
			return nil, d.wrap(err, &logs)
		}
	}
	before, err := gather()
	if err != nil {
		return nil, err
	}
	d.reset()
	elapsed, err := d.drive(ctx, cfg.Duration)
	if err != nil {
		return nil, d.wrap(err, &logs)
	}
	after, err := gather()
	if err != nil {
		return nil, err
	}
	select {
	case err := <-e.Err():
		return nil, fmt.Errorf("calibrate: etcd failed: %w%s", err, logs.tail())
	default:
	}

	res = &Result{
		Config:        cfg,
		Elapsed:       elapsed,
		Puts:          d.puts,
		Errors:        d.errors,
		WALFsync:      delta(before, after, MetricWALFsync),
		BackendCommit: delta(before, after, MetricBackendCommit),
		WALWriteBytes: int64(gaugeValue(after, MetricWALWriteBytes) - gaugeValue(before, MetricWALWriteBytes)),
		DBSizeBytes:   int64(gaugeValue(after, MetricDBSize)),
		PutLatency:    d.hist,
	}
	if res.Puts > 0 {
		res.FsyncsPerPut = float64(res.WALFsync.Count) / float64(res.Puts)
	}
	res.Warnings = warnings(res)
	return res, nil
}

// warnings flags runs in which etcd did not keep up with the arrivals: its
// timings then include queueing and CPU starvation, not just the disk.
func warnings(r *Result) []string {
	var w []string
	if over := r.Elapsed - r.Config.Duration; over > r.Config.Duration/10 && over > 500*time.Millisecond {
		w = append(w, fmt.Sprintf("etcd fell behind %.0f puts/s: the last reply came %v after the window closed; "+
			"the machine (CPU or disk) could not sustain the rate", r.Config.Rate, over.Round(time.Millisecond)))
	}
	if r.Errors > 0 {
		w = append(w, fmt.Sprintf("%d puts failed", r.Errors))
	}
	return w
}

func (c *Config) fill() error {
	if c.Dir == "" {
		return errors.New("calibrate: no directory")
	}
	if fi, err := os.Stat(c.Dir); err != nil {
		return fmt.Errorf("calibrate: %w", err)
	} else if !fi.IsDir() {
		return fmt.Errorf("calibrate: %s is not a directory", c.Dir)
	}
	if c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) || c.ValueSize < 0 || c.KeySize < 0 || c.Duration < 0 || c.Warmup < 0 {
		return errors.New("calibrate: negative or invalid rate, size or duration")
	}
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.ValueSize == 0 {
		c.ValueSize = DefaultValueSize
	}
	if c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.KeySpace <= 0 {
		c.KeySpace = DefaultKeySpace
	}
	return nil
}

// startEtcd starts a single member with etcd's defaults (heartbeat 100 ms,
// election 1000 ms, snapshot count 10,000), listening on free 127.0.0.1
// ports, logging errors only, into logs.
func startEtcd(ctx context.Context, dataDir string, logs *syncBuffer) (*embed.Etcd, error) {
	var lastErr error
	// NB: a free port is found by listening on :0 and closing; another
	// process may take it before etcd binds it, so retry a few times.
	for attempt := 0; attempt < 3; attempt++ {
		ports, err := freePorts(2)
		if err != nil {
			return nil, err
		}
		cu := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ports[0])}
		pu := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ports[1])}

		cfg := embed.NewConfig()
		cfg.Name = "etcdisk-calibrate"
		cfg.Dir = dataDir
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
		cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
		cfg.LogLevel = "error"
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.New(zapcore.NewCore(
			zapcore.NewConsoleEncoder(zap.NewProductionEncoderConfig()),
			zapcore.AddSync(logs), zapcore.ErrorLevel)))

		e, err := embed.StartEtcd(cfg)
		if err != nil {
			lastErr = err
			if strings.Contains(err.Error(), "address already in use") {
				// A failed start may leave a partial data dir behind.
				cleanDir(dataDir)
				continue
			}
			return nil, fmt.Errorf("calibrate: start etcd: %w%s", err, logs.tail())
		}
		select {
		case <-e.Server.ReadyNotify():
			return e, nil
		case err := <-e.Err():
			e.Close()
			return nil, fmt.Errorf("calibrate: etcd failed to start: %w%s", err, logs.tail())
		case <-time.After(60 * time.Second):
			e.Close()
			return nil, fmt.Errorf("calibrate: etcd not ready after 60s%s", logs.tail())
		case <-ctx.Done():
			e.Close()
			return nil, ctx.Err()
		}
	}
	return nil, fmt.Errorf("calibrate: start etcd: %w", lastErr)
}

func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("calibrate: find a free port: %w", err)
		}
		defer l.Close() // held until all are chosen so they differ
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// cleanDir empties dir, keeping dir itself.
func cleanDir(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		os.RemoveAll(dir + string(os.PathSeparator) + e.Name())
	}
}

// driver issues puts open-loop and records their latency.
type driver struct {
	cli   *clientv3.Client
	cfg   Config
	value string
	next  int // key counter, continues across drive calls

	mu     sync.Mutex
	hist   *hdrhistogram.Histogram
	puts   int64
	errors int64
	first  error
}

func newDriver(cli *clientv3.Client, cfg Config) *driver {
	// Pseudo-random values: etcd does not compress, but nothing between
	// the client and the disk should be able to take a shortcut either.
	r := rand.New(rand.NewPCG(1, 2))
	v := make([]byte, cfg.ValueSize)
	for i := range v {
		v[i] = byte(r.Uint32())
	}
	return &driver{cli: cli, cfg: cfg, value: string(v), hist: newHist()}
}

func newHist() *hdrhistogram.Histogram { return report.NewHistogram() }

func (d *driver) reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.hist = newHist()
	d.puts, d.errors, d.first = 0, 0, nil
}

func (d *driver) key(i int) string {
	k := fmt.Sprintf("/registry/pods/default/pod-%05d", i%d.cfg.KeySpace)
	switch n := d.cfg.KeySize; {
	case n == 0:
		return k
	case len(k) > n:
		return k[len(k)-n:] // keep the distinct tail
	default:
		return k + strings.Repeat("x", n-len(k))
	}
}

// drive schedules puts at cfg.Rate for dur, waits for all replies and
// returns the time from the first arrival to the last reply.
func (d *driver) drive(ctx context.Context, dur time.Duration) (time.Duration, error) {
	n := int(math.Round(d.cfg.Rate * dur.Seconds()))
	arrivals := pace.NewBatcher(pace.NewSchedule(pace.Constant, d.cfg.Rate, 0), 1)
	one := make([]time.Duration, 0, 1)
	var never atomic.Bool // the run ends by ctx or after n puts
	sem := make(chan struct{}, d.cfg.MaxInFlight)
	var wg sync.WaitGroup
	start := time.Now()
	var err error
loop:
	for range n {
		if !pace.SleepUntil(ctx, &never, start, arrivals.Next()) {
			err = ctx.Err()
			break loop
		}
		at := start.Add(arrivals.Take(time.Since(start), one[:0])[0])
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			err = ctx.Err()
			break loop
		}
		wg.Add(1)
		key := d.key(d.next)
		d.next++
		go func() {
			defer wg.Done()
			_, perr := d.cli.Put(ctx, key, d.value)
			lat := time.Since(at)
			<-sem
			d.mu.Lock()
			defer d.mu.Unlock()
			if perr != nil {
				d.errors++
				if d.first == nil {
					d.first = perr
				}
				return
			}
			d.puts++
			d.hist.RecordValue(int64(lat))
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err != nil {
		return elapsed, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.first != nil && d.puts == 0 {
		return elapsed, fmt.Errorf("calibrate: every put failed: %w", d.first)
	}
	return elapsed, nil
}

func (d *driver) wrap(err error, logs *syncBuffer) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w%s", err, logs.tail())
}

// gather reads the default Prometheus registry, where etcd registers its
// metrics.
func gather() (map[string]*dto.MetricFamily, error) {
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		return nil, fmt.Errorf("calibrate: gather metrics: %w", err)
	}
	m := make(map[string]*dto.MetricFamily, len(mfs))
	for _, mf := range mfs {
		m[mf.GetName()] = mf
	}
	return m, nil
}

// histogram returns the cumulative buckets (with +Inf), the count and the
// sum in seconds of an unlabelled histogram.
func histogram(mfs map[string]*dto.MetricFamily, name string) ([]Bucket, uint64, float64) {
	mf := mfs[name]
	if mf == nil || len(mf.GetMetric()) == 0 || mf.GetMetric()[0].GetHistogram() == nil {
		return nil, 0, 0
	}
	h := mf.GetMetric()[0].GetHistogram()
	bs := make([]Bucket, 0, len(h.GetBucket())+1)
	for _, b := range h.GetBucket() {
		bs = append(bs, Bucket{UpperBound: b.GetUpperBound(), Count: b.GetCumulativeCount()})
	}
	if len(bs) == 0 || !math.IsInf(bs[len(bs)-1].UpperBound, +1) {
		bs = append(bs, Bucket{UpperBound: math.Inf(+1), Count: h.GetSampleCount()})
	}
	return bs, h.GetSampleCount(), h.GetSampleSum()
}

// delta is the histogram `name` over the window between two gathers.
func delta(before, after map[string]*dto.MetricFamily, name string) Metric {
	b0, c0, s0 := histogram(before, name)
	b1, c1, s1 := histogram(after, name)
	m := Metric{Count: c1 - c0, Sum: seconds(s1 - s0), Buckets: etcdbuckets.Delta(b0, b1)}
	if m.Count > 0 {
		m.Mean = m.Sum / time.Duration(m.Count)
	}
	m.P50 = m.Quantile(0.50)
	m.P99 = m.Quantile(0.99)
	return m
}

func gaugeValue(mfs map[string]*dto.MetricFamily, name string) float64 {
	mf := mfs[name]
	if mf == nil || len(mf.GetMetric()) == 0 {
		return 0
	}
	m := mf.GetMetric()[0]
	switch {
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	}
	return 0
}

// syncBuffer collects etcd's error log.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 1<<20 {
		return len(p), nil // enough to explain a failure
	}
	return b.buf.Write(p)
}

// tail returns the last lines of the log, prefixed for an error message.
func (b *syncBuffer) tail() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := strings.TrimSpace(b.buf.String())
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return "\netcd log:\n" + strings.Join(lines, "\n")
}

// seconds converts a quantile in seconds to a Duration; NaN and infinities
// become 0.
func seconds(s float64) time.Duration {
	if math.IsNaN(s) || math.IsInf(s, 0) {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}
