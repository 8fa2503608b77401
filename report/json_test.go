package report

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestWriteReadRoundTrip(t *testing.T) {
	for name := range fixtureSpecs() {
		want := buildFixture(t, fixtureSpecs()[name])
		var b bytes.Buffer
		if err := Write(&b, want); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b.Bytes(), fixtureBytes(t, name)) {
			t.Errorf("%s: building twice gives different bytes", name)
		}
		got, err := Read(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// time.Time keeps a monotonic/location detail that JSON drops.
		got.StartTime, want.StartTime = got.StartTime.UTC(), want.StartTime.UTC()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s does not round-trip", name)
		}
		var again bytes.Buffer
		Write(&again, got)
		if !bytes.Equal(b.Bytes(), again.Bytes()) {
			t.Errorf("%s: writing twice gives different bytes", name)
		}
	}
}

func TestWriteShape(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, loadFixture(t, "hdd-fail.json")); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, want := range []string{"{\n  \"schema\": 1,\n  \"verdict\": \"fail\"", `"p99_ns": `, `"p99_ci": {`, `> 10ms target`} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if !strings.HasSuffix(s, "}\n") {
		t.Error("no final newline")
	}
}

func TestReadRejects(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(fixtureDir, "short-inconclusive.json"))
	if err != nil {
		t.Fatal(err)
	}
	m := loadFixture(t, "short-inconclusive.json").Metrics[MetricWALFdatasync]
	other := loadFixture(t, "nvme-pass.json").Metrics[MetricWALFdatasync].Histogram
	for _, c := range []struct {
		name, doc, want string
	}{
		{"not json", "hello", "not an etcdisk result"},
		{"no schema", `{"verdict":"pass"}`, `no "schema" field`},
		{"future schema", `{"schema":2,"verdict":"pass","metrics":"changed shape"}`, "unsupported result schema 2"},
		{"wrong type", `{"schema":1,"verdict":"pass","metrics":[]}`, "invalid result"},
		{"bad verdict", `{"schema":1,"verdict":"maybe"}`, `unknown verdict "maybe"`},
		{"trailing data", string(good) + "{}", "after top-level value"},
		{"bad histogram", strings.Replace(string(good), m.Histogram, "AAAA"+m.Histogram[4:], 1), "metric wal_fdatasync"},
		{"count mismatch", strings.Replace(string(good), m.Histogram, other, 1), "histogram holds 6000 values, count says 200"},
		{"null metric", `{"schema":1,"verdict":"pass","metrics":{"wal_fdatasync":null}}`, "metric is null"},
	} {
		_, err := Read(strings.NewReader(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
		}
	}
}

func TestReadFileNamesThePath(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(p, []byte(`{"schema":9}`), 0o644)
	_, err := ReadFile(p)
	if err == nil || !strings.Contains(err.Error(), "bad.json: unsupported result schema 9") {
		t.Fatalf("%v", err)
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "none.json")); err == nil {
		t.Fatal("missing file read")
	}
}

// FuzzRead: Read never panics, and whatever it accepts writes back to a
// document that reads back to the same bytes.
func FuzzRead(f *testing.F) {
	for _, name := range []string{"short-inconclusive.json", "io-error.json"} {
		b, err := os.ReadFile(filepath.Join(fixtureDir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"schema":1,"verdict":"pass","metrics":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		var once bytes.Buffer
		if err := Write(&once, r); err != nil {
			t.Fatalf("accepted document does not write: %v", err)
		}
		r2, err := Read(bytes.NewReader(once.Bytes()))
		if err != nil {
			t.Fatalf("written document does not read: %v\n%s", err, once.Bytes())
		}
		var twice bytes.Buffer
		Write(&twice, r2)
		if !bytes.Equal(once.Bytes(), twice.Bytes()) {
			t.Fatalf("not stable:\n%s\n%s", once.Bytes(), twice.Bytes())
		}
		// The text renderer copes with anything Read accepts.
		if err := WriteText(&bytes.Buffer{}, r); err != nil {
			t.Fatal(err)
		}
	})
}
