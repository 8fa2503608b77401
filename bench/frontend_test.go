package bench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	etcdwal "go.etcd.io/etcd/server/v3/storage/wal"
	"go.etcd.io/etcd/server/v3/storage/wal/walpb"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/etcdisk/etcdisk/report"
)

// readKeptWAL reads the entries of the WAL a kept run left in dir, with
// etcd's own reader, and removes the run folder.
func readKeptWAL(t *testing.T, dir string) []*pb.InternalRaftRequest {
	t.Helper()
	runs, _ := filepath.Glob(filepath.Join(dir, RunDirPrefix+"*"))
	if len(runs) != 1 {
		t.Fatalf("run folders %v, want one kept", runs)
	}
	defer os.RemoveAll(runs[0])
	w, err := etcdwal.Open(zap.NewNop(), filepath.Join(runs[0], "member", "wal"), &walpb.Snapshot{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	_, st, ents, err := w.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// As a new etcd member's WAL: the member's ConfChange at index 1, the
	// new leader's empty entry, then the requests.
	if len(ents) < 2 || ents[0].GetType() != raftpb.EntryConfChange || ents[0].GetIndex() != 1 ||
		ents[1].GetType() != raftpb.EntryNormal || len(ents[1].Data) != 0 {
		t.Fatalf("WAL starts with %v, want a ConfChange then an empty entry", ents[:min(2, len(ents))])
	}
	// The leader elected itself in term 2; the last Ready's commit index
	// trails its entries (raft commits them once durable).
	if st.GetTerm() != 2 || st.GetVote() != memberID || st.GetCommit() < 2 || st.GetCommit() > ents[len(ents)-1].GetIndex() {
		t.Fatalf("last HardState %v", st)
	}
	var reqs []*pb.InternalRaftRequest
	for _, e := range ents[2:] {
		r := &pb.InternalRaftRequest{}
		if err := proto.Unmarshal(e.Data, r); err != nil {
			t.Fatalf("entry %d: not an InternalRaftRequest: %v", e.GetIndex(), err)
		}
		reqs = append(reqs, r)
	}
	return reqs
}

// Through the gRPC front end, every entry is the InternalRaftRequest etcd's
// server would propose for the client's request, every request is answered
// only once durable and applied, and the proposals are batched.
func TestRunGRPCFrontEnd(t *testing.T) {
	for _, shape := range []string{RequestPut, RequestTxn} {
		t.Run(shape, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Ops = 0
			cfg.Duration = time.Second
			cfg.Rate = 300
			cfg.ValueSize = mustValueSize("1KiB")
			cfg.Request = Request(shape)
			cfg.Backend = Given(true)
			cfg.Keep = true
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			pc := res.Metrics[report.MetricProposalCommit]
			if pc == nil || pc.Count < 200 {
				t.Fatalf("proposal_commit %+v, want ~300 answered requests", pc)
			}
			// proposal_commit also counts the requests still pending at
			// the stop, which were never answered.
			pending, ok := res.Extra["proposals_pending_at_stop"].(int64)
			answered := pc.Count - pending
			if !ok || answered < 200 {
				t.Fatalf("%d requests answered (%v pending at the stop), want ~300", answered, res.Extra["proposals_pending_at_stop"])
			}
			if n, _ := res.Extra["backend_puts"].(int64); n < answered {
				t.Fatalf("%d requests answered but only %v applied: answered before apply", answered, res.Extra["backend_puts"])
			}
			reqs := readKeptWAL(t, cfg.Dir)
			if int64(len(reqs)) < answered {
				t.Fatalf("%d entries for %d answered requests", len(reqs), answered)
			}
			seen := map[uint64]bool{}
			for i, r := range reqs {
				put := r.Put
				if shape == RequestTxn {
					if r.Txn == nil || len(r.Txn.Compare) != 1 || len(r.Txn.Success) != 1 {
						t.Fatalf("entry %d: %v, want a Kubernetes-style Txn", i, r)
					}
					put = r.Txn.Success[0].GetRequestPut()
				}
				if put == nil || len(put.Value) != 1024 || !strings.HasPrefix(string(put.Key), "/registry/pods/") {
					t.Fatalf("entry %d: %v, want a put of a 1 KiB value", i, r)
				}
				// IDs as etcd's generator makes them, each once. Not in
				// order: concurrent requests reach raft in any order once
				// they have their IDs, in etcd too.
				if r.Header == nil || r.Header.ID>>48 != memberID&0xffff || seen[r.Header.ID] {
					t.Fatalf("entry %d: request ID %v (seen before: %v)", i, r.Header, seen[r.Header.GetID()])
				}
				seen[r.Header.ID] = true
			}
		})
	}
}

func TestGRPCNeedsOneEntryPerProposal(t *testing.T) {
	cfg := testConfig(t)
	cfg.Rate = 100
	cfg.Batch = 2
	if _, err := NewPlan(cfg); err == nil || !strings.Contains(err.Error(), "--grpc=false") {
		t.Fatalf("Validate: %v, want the --grpc=false advice", err)
	}
	cfg.GRPC = Given(false)
	if _, err := NewPlan(cfg); err != nil {
		t.Fatal(err)
	}
}
