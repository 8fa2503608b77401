package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/etcdisk/etcdisk/bench/pace"
)

// The gRPC front end puts etcd's request path in front of the WAL loop: in
// an open-loop run, each proposal is a real etcd KV.Put (or, for the txn
// request shape, KV.Txn) sent by an in-process client over loopback TCP to
// an in-process server, as a client's request reaches etcd. The server's
// handler does what etcd's does (processInternalRaftRequestOnce: wrap the
// request in an InternalRaftRequest with a request ID and marshal it: those
// bytes are the entry's Data; register the ID, propose the data to raft,
// wait), and answers once the entry is durable and applied: raft and the
// loops around it are etcd's (raftloop.go).
//
// Why: on a small machine the disk is not the only thing etcd's fdatasync
// waits for. A fdatasync's latency, as etcd measures it, ends when its
// goroutine runs again; while etcd's gRPC, raft and apply work keeps the
// CPUs busy, that wakeup waits, in the kernel scheduler and for a Go P. A
// bare WAL loop spends a fraction of the CPU etcd spends at the same rate,
// so it would read fdatasyncs faster than etcd does on the same disk
// (scripts/fidelity.sh compares the two, CPUs column; the README's
// "Comparing with fio, and with a real etcd" has its numbers). The front end
// makes the model spend that CPU the way etcd does (socket writes and reads,
// HTTP/2 framing, protobuf, raft, goroutine hand-offs), so the effect scales
// with the machine rather than with a constant tuned on one.
//
// Not modelled: TLS (a Kubernetes API server talks to etcd over TLS, which
// costs more CPU still), auth, mvcc's in-memory index, watchers.

// maxInFlight bounds the client's outstanding requests when the run names
// no clients; beyond it the arrival loop waits (latency still counts from
// each scheduled arrival).
const maxInFlight = 4096

// etcd's request limits (server/embed defaults): --max-request-bytes plus
// its gRPC overhead allowance.
const (
	grpcMaxRequest  = maxValueSize + 512<<10
	grpcMaxCallSend = 2 << 20 // clientv3's default MaxCallSendMsgSize
)

// frontend is the server and the client of the gRPC front end.
type frontend struct {
	h     pathHandles
	lis   net.Listener
	srv   *grpc.Server
	conns []*grpc.ClientConn
	kvs   []pb.KVClient // one per client (Config.Clients), or one
	raft  *raftLoop
	reqID atomic.Uint64
	rev   atomic.Int64

	puts []*pb.PutRequest // requests the client cycles through
	txns []*pb.TxnRequest // the same, as Kubernetes-style updates

	// err is the first failed request that was not caused by the end of
	// the run.
	err atomic.Pointer[error]
}

// pathHandles are what the request path works with, and all it works
// with: the front end and the raft loop reach nothing else of the run.
type pathHandles struct {
	saver    *walSaver         // raft's loop saves here
	apply    *applier          // raft's apply loop applies here
	table    *requestTable     // the requests the client sends
	proposal *series           // proposal_commit: scheduled arrival to reply
	pending  *pendingProposals // requests arrived and not answered yet
	schedule pace.Schedule     // the client's arrivals
	epoch    time.Time         // arrivals are offsets from it
	gate     pace.Gate         // live-safe: no arrivals while paused
	clients  int               // Plan.Clients
	request  Request           // RequestPut or RequestTxn
}

// newFrontend starts the raft node and the server on a free loopback port,
// and connects the client.
func newFrontend(h pathHandles) (*frontend, error) {
	r, err := newRaftLoop(context.Background(), h.saver, h.apply)
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		r.stop()
		return nil, fmt.Errorf("grpc front end: %w", err)
	}
	f := &frontend{h: h, lis: lis, raft: r}
	// Request IDs as etcd's generator (pkg/idutil) makes them: the low 16
	// bits of the member ID on top, a counter below, so their varints have
	// the real size (9 bytes).
	f.reqID.Store((memberID & 0xffff) << 48)
	f.srv = grpc.NewServer(
		grpc.MaxRecvMsgSize(grpcMaxRequest),
		grpc.MaxSendMsgSize(math.MaxInt32),
		grpc.MaxConcurrentStreams(math.MaxUint32),
	)
	pb.RegisterKVServer(f.srv, kvServer{f: f})
	go f.srv.Serve(lis) //nolint:errcheck // returns when Stop closes the listener
	for range max(1, h.clients) {
		// NB: one connection per client, as etcdctl check perf's clients
		// each have their own: requests are not all multiplexed over one
		// HTTP/2 connection.
		conn, err := grpc.NewClient(lis.Addr().String(),
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(grpcMaxCallSend)))
		if err != nil {
			f.close()
			return nil, fmt.Errorf("grpc front end: %w", err)
		}
		f.conns = append(f.conns, conn)
		f.kvs = append(f.kvs, pb.NewKVClient(conn))
	}
	f.buildRequests()
	return f, nil
}

// buildRequests prepares the client's requests: proposalTable keys (as the
// apply loop's, cycling through a space of 100k objects) with the run's
// value sizes. Requests are only read once built, so the client sends them
// from many goroutines at once.
func (f *frontend) buildRequests() {
	t := f.h.table
	n := proposalTable
	f.puts = make([]*pb.PutRequest, n)
	f.txns = make([]*pb.TxnRequest, n)
	for i := range n {
		put := &pb.PutRequest{Key: t.key(t.newKey(), i), Value: t.value(i)}
		f.puts[i] = put
		f.txns[i] = kubernetesUpdate(put)
	}
}

// kvServer is the server side: etcd's KV service, Put and Txn only.
type kvServer struct {
	pb.UnimplementedKVServer
	f *frontend
}

func (s kvServer) Put(ctx context.Context, r *pb.PutRequest) (*pb.PutResponse, error) {
	if err := s.f.propose(ctx, &pb.InternalRaftRequest{Put: r}); err != nil {
		return nil, err
	}
	return &pb.PutResponse{Header: s.f.header()}, nil
}

func (s kvServer) Txn(ctx context.Context, r *pb.TxnRequest) (*pb.TxnResponse, error) {
	if len(r.Success) != 1 || r.Success[0].GetRequestPut() == nil {
		return nil, status.Error(codes.Unimplemented, "etcdisk's front end serves a single-put Txn only")
	}
	if err := s.f.propose(ctx, &pb.InternalRaftRequest{Txn: r}); err != nil {
		return nil, err
	}
	h := s.f.header()
	return &pb.TxnResponse{Header: h, Succeeded: true, Responses: []*pb.ResponseOp{{
		Response: &pb.ResponseOp_ResponsePut{ResponsePut: &pb.PutResponse{Header: h}},
	}}}, nil
}

func (f *frontend) header() *pb.ResponseHeader {
	return &pb.ResponseHeader{ClusterId: 0x2a5e9b3c1d2f4e6b, MemberId: memberID, Revision: f.rev.Add(1), RaftTerm: raftTerm}
}

// propose is etcd's processInternalRaftRequestOnce: give the request an ID,
// marshal it, propose it and wait until it is applied.
func (f *frontend) propose(ctx context.Context, r *pb.InternalRaftRequest) error {
	id := f.reqID.Add(1)
	r.Header = &pb.RequestHeader{ID: id}
	data, err := proto.Marshal(r)
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	if err := f.raft.propose(ctx, id, data); err != nil {
		if ctx.Err() != nil {
			return status.FromContextError(ctx.Err()).Err()
		}
		return status.Error(codes.Internal, err.Error())
	}
	return nil
}

// client sends requests on the run's arrival schedule until ctx is done or
// stop is set. Each request's latency, from its scheduled arrival to its
// reply, is a proposal_commit sample; requests still unanswered, or not
// sent, when the run stops are recorded by flushPending.
func (f *frontend) client(ctx context.Context, stop *atomic.Bool) {
	h := f.h
	epoch := h.epoch
	// NB: the first request arrives when the client starts: the set-up
	// before it (the WAL, raft's election, the connections) is nobody's
	// wait.
	b := pace.NewBatcher(pace.After(time.Since(epoch), h.schedule), 1)
	idle := f.idleClients()
	var wg sync.WaitGroup
	defer wg.Wait()
	one := make([]time.Duration, 0, 1)
	// Arrivals never sent are due at the stop as the others.
	defer h.pending.setDue(b.Due)
	for i := 0; !stop.Load() && ctx.Err() == nil; i++ {
		if pace.WaitGate(ctx, stop, h.gate) {
			// Arrivals during a live-safe pause are not made.
			b.Skip(time.Since(epoch))
			continue
		}
		if !pace.SleepUntil(ctx, stop, epoch, b.Next()) {
			return
		}
		c, ok := waitIdle(ctx, stop, idle)
		if !ok {
			return
		}
		arrival := b.Take(time.Since(epoch), one[:0])[0]
		id := h.pending.add(arrival)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { idle <- c }()
			kv := f.kvs[c%len(f.kvs)]
			var err error
			if h.request == RequestTxn {
				_, err = kv.Txn(ctx, f.txns[i%len(f.txns)])
			} else {
				_, err = kv.Put(ctx, f.puts[i%len(f.puts)])
			}
			if err != nil {
				if ctx.Err() == nil && !stop.Load() {
					h.pending.done(id)
					f.fail(err)
				}
				return // cut by the end of the run: still pending
			}
			if h.pending.done(id) {
				h.proposal.record(time.Since(epoch) - arrival)
			}
		}(i)
	}
}

// waitIdle waits for a client free to send. It gives up when the run
// stops: with every client waiting on a hung disk, the client must still
// return, so that the arrivals it never sent are handed over as pending.
func waitIdle(ctx context.Context, stop *atomic.Bool, idle chan int) (int, bool) {
	select {
	case c := <-idle:
		return c, true
	default:
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !stop.Load() {
		select {
		case c := <-idle:
			return c, true
		case <-ctx.Done():
			return 0, false
		case <-tick.C:
		}
	}
	return 0, false
}

// idleClients returns the clients free to send, by index: Config.Clients
// of them, each sending one request at a time (or maxInFlight over one
// connection).
func (f *frontend) idleClients() chan int {
	n := f.h.clients
	if n == 0 {
		n = maxInFlight
	}
	idle := make(chan int, n)
	for c := range n {
		idle <- c
	}
	return idle
}

func (f *frontend) fail(err error) {
	err = fmt.Errorf("grpc front end: %w", err)
	f.err.CompareAndSwap(nil, &err)
}

// failed returns the first failed request's error, or nil.
func (f *frontend) failed() error {
	if p := f.err.Load(); p != nil {
		return *p
	}
	return nil
}

func (f *frontend) close() error {
	f.srv.Stop()
	f.raft.stop()
	var errs []error
	for _, c := range f.conns {
		if err := c.Close(); !errors.Is(err, grpc.ErrClientConnClosing) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
