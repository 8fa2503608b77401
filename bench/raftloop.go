package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/pkg/v3/wait"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/etcdisk/etcdisk/wal"
)

// The front end's proposals go through etcd's own raft library
// (go.etcd.io/raft/v3, the version etcd v3.7 uses), driven the way etcd's
// server drives it (server/etcdserver/raft.go, server.go): a single-member
// raft.Node with a MemoryStorage and etcd's configuration, ticked every
// 100 ms; a loop that, for every Ready, hands the committed entries to the
// apply loop, saves the HardState and new entries to the WAL (one write and,
// when raft says so, one fdatasync), appends them to the MemoryStorage,
// signals the apply loop that they are durable, and calls Advance; an apply
// loop that unmarshals each committed InternalRaftRequest, puts it into the
// backend and answers the waiting request (etcd's wait.Wait).
//
// What this brings over a hand-made batcher: raft's batching (what was
// proposed while a Save ran goes into the next Ready), its cadence (since
// raft v3.6 a leader commits its own entries only once they are durable, so
// an entry is saved in one Ready and committed in a later one, whose
// HardState update is written without a sync), raft's in-memory log and the
// garbage etcd's raft loop makes, all with etcd's code rather than a model
// of it. Like etcd, the in-memory log is compacted every snapshotCount
// applied entries, keeping snapshotCatchUp of them. Not modelled: the
// snapshot's own disk writes (a .snap file and a WAL snapshot record, once
// per 10,000 entries).

const (
	raftTick        = 100 * time.Millisecond // etcd's --heartbeat-interval
	electionTicks   = 10                     // etcd's --election-timeout / --heartbeat-interval
	maxSizePerMsg   = 1 << 20                // etcdserver's maxSizePerMsg
	maxInflightMsgs = 4096 / 8               // etcdserver's maxInflightMsgs
	snapshotCount   = 10000                  // etcd's --snapshot-count
	snapshotCatchUp = 5000                   // etcdserver's SnapshotCatchUpEntries
)

// raftLoop is etcd's raftNode and apply loop around a raft.Node.
type raftLoop struct {
	saver   *walSaver // the one Save path
	apply   *applier  // the one path into the backend
	node    raft.Node
	storage *raft.MemoryStorage
	wait    wait.Wait
	applyc  chan toApply
	applied chan struct{} // closed when the apply loop has returned
	ticker  *time.Ticker

	ents []wal.Entry // reused for every Save
}

// toApply is one Ready's committed entries for the apply loop; notifyc
// receives once the Ready's entries are durable, as etcd's.
type toApply struct {
	entries []*raftpb.Entry
	notifyc chan struct{}
}

// newRaftLoop starts a single-member raft node, bootstraps it as a new etcd
// member does (the member's ConfChange entry, saved to the WAL and applied)
// and elects it leader. The WAL's records of this set-up are written before
// the measured run starts.
func newRaftLoop(ctx context.Context, saver *walSaver, apply *applier) (*raftLoop, error) {
	r := &raftLoop{
		saver:   saver,
		apply:   apply,
		storage: raft.NewMemoryStorage(),
		wait:    wait.New(),
		applyc:  make(chan toApply, 1),
		applied: make(chan struct{}),
		ents:    make([]wal.Entry, 0, maxEntriesPerSave),
	}
	r.node = raft.StartNode(&raft.Config{
		ID:              memberID,
		ElectionTick:    electionTicks,
		HeartbeatTick:   1,
		Storage:         r.storage,
		MaxSizePerMsg:   maxSizePerMsg,
		MaxInflightMsgs: maxInflightMsgs,
		CheckQuorum:     true,
		PreVote:         true,
		Logger:          &raft.DefaultLogger{Logger: log.New(io.Discard, "", 0)},
	}, []raft.Peer{{ID: memberID}})
	go r.applyLoop()
	// Until it leads, handle Readys here; etcd fast-forwards its ticks
	// to the election on a fresh single-member cluster, we campaign (and
	// tick, should raft refuse the campaign: then its election timeout
	// elects it).
	r.ticker = time.NewTicker(raftTick)
	deadline := time.After(10 * time.Second)
	campaigned := false
	for {
		select {
		case <-r.ticker.C:
			r.node.Tick()
		case rd := <-r.node.Ready():
			if err := r.handle(rd); err != nil {
				r.stop()
				return nil, err
			}
			if rd.SoftState != nil && rd.RaftState == raft.StateLeader {
				return r, nil
			}
			if !campaigned {
				campaigned = true
				if err := r.node.Campaign(ctx); err != nil {
					r.stop()
					return nil, fmt.Errorf("raft: campaign: %w", err)
				}
			}
		case <-deadline:
			r.stop()
			return nil, errors.New("raft: the single member did not become leader within 10 s")
		case <-ctx.Done():
			r.stop()
			return nil, ctx.Err()
		}
	}
}

// handle is one iteration of etcd's raft loop for a Ready.
func (r *raftLoop) handle(rd raft.Ready) error {
	if err := r.apply.failed(); err != nil {
		return err
	}
	notifyc := make(chan struct{}, 1)
	r.applyc <- toApply{entries: rd.CommittedEntries, notifyc: notifyc}
	// NB: the apply loop waits for notifyc after these entries, also when
	// the Save fails.
	defer close(notifyc)
	st := wal.HardState{}
	if !raft.IsEmptyHardState(rd.HardState) {
		st = wal.HardState{Term: rd.HardState.GetTerm(), Vote: rd.HardState.GetVote(), Commit: rd.HardState.GetCommit()}
	}
	ents := r.ents[:0]
	for _, e := range rd.Entries {
		ents = append(ents, wal.Entry{Type: int32(e.GetType()), Term: e.GetTerm(), Index: e.GetIndex(), Data: e.Data})
	}
	if err := r.saver.save(st, ents); err != nil {
		return err
	}
	if err := r.storage.Append(rd.Entries); err != nil {
		return fmt.Errorf("raft: %w", err)
	}
	notifyc <- struct{}{}
	r.node.Advance()
	return nil
}

// run is etcd's raft loop until ctx is done or the run ends. At the end it
// goes on handling Readys for up to drainFor, until one brings nothing
// new: raft commits a Ready's entries in a later one, so without this the
// last entries saved would stay unapplied and their requests unanswered.
func (r *raftLoop) run(ctx context.Context, end func() bool) error {
	for !end() {
		select {
		case <-r.ticker.C:
			r.node.Tick()
		case rd := <-r.node.Ready():
			if err := r.handle(rd); err != nil {
				return err
			}
		case <-ctx.Done():
			return nil
		}
	}
	const drainFor = time.Second
	timeout := time.After(drainFor)
	for {
		select {
		case rd := <-r.node.Ready():
			quiet := len(rd.Entries) == 0 && len(rd.CommittedEntries) == 0
			if err := r.handle(rd); err != nil || quiet {
				return err
			}
		case <-time.After(2 * raftTick):
			return nil
		case <-timeout:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

// propose is the server side of a request: register its ID, propose its
// data and wait until it is applied.
func (r *raftLoop) propose(ctx context.Context, id uint64, data []byte) error {
	ch := r.wait.Register(id)
	if err := r.node.Propose(ctx, data); err != nil {
		r.wait.Trigger(id, nil)
		return err
	}
	select {
	case x := <-ch:
		if err, ok := x.(error); ok {
			return err
		}
		return nil
	case <-ctx.Done():
		r.wait.Trigger(id, nil)
		return ctx.Err()
	}
}

// applyLoop is etcd's apply loop: apply each Ready's committed entries, then
// wait until the raft loop has made its own entries durable.
func (r *raftLoop) applyLoop() {
	defer close(r.applied)
	var applied, compacted uint64
	for ap := range r.applyc {
		for _, e := range ap.entries {
			if err := r.applyEntry(e); err != nil {
				r.apply.fail(err)
			}
			applied = e.GetIndex()
		}
		<-ap.notifyc
		// etcd compacts raft's in-memory log at each snapshot.
		if applied-compacted > snapshotCount && applied > snapshotCatchUp {
			if err := r.storage.Compact(applied - snapshotCatchUp); err == nil {
				compacted = applied
			}
		}
	}
}

func (r *raftLoop) applyEntry(e *raftpb.Entry) error {
	switch e.GetType() {
	case raftpb.EntryConfChange:
		var cc raftpb.ConfChange
		if err := proto.Unmarshal(e.Data, &cc); err != nil {
			return fmt.Errorf("raft: conf change %d: %w", e.GetIndex(), err)
		}
		r.node.ApplyConfChange(&cc)
		return nil
	case raftpb.EntryNormal:
	default:
		return fmt.Errorf("raft: unexpected %v entry %d", e.GetType(), e.GetIndex())
	}
	if len(e.Data) == 0 {
		return nil // a new leader's empty entry
	}
	var req pb.InternalRaftRequest
	if err := proto.Unmarshal(e.Data, &req); err != nil {
		return fmt.Errorf("raft: entry %d: %w", e.GetIndex(), err)
	}
	put := req.Put
	if put == nil && req.Txn != nil && len(req.Txn.Success) == 1 {
		put = req.Txn.Success[0].GetRequestPut()
	}
	var err error
	if put == nil {
		err = fmt.Errorf("raft: entry %d is neither a Put nor a single-put Txn", e.GetIndex())
	} else {
		err = r.apply.put(put.Key, put.Value)
	}
	r.wait.Trigger(req.GetHeader().GetID(), err)
	return err
}

// stop stops the node and the apply loop (the raft loop must have
// returned); proposals still being made get raft.ErrStopped.
func (r *raftLoop) stop() {
	r.ticker.Stop()
	r.node.Stop()
	close(r.applyc)
	<-r.applied
}
