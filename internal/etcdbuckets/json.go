package etcdbuckets

import (
	"encoding/json"
	"math"
	"strconv"
)

// MarshalJSON writes the upper bound as Prometheus writes its "le" label
// ("0.001", "+Inf"): JSON numbers cannot hold +Inf.
func (b Bucket) MarshalJSON() ([]byte, error) {
	le := strconv.FormatFloat(b.UpperBound, 'g', -1, 64)
	if math.IsInf(b.UpperBound, 1) {
		le = "+Inf"
	}
	return json.Marshal(struct {
		Le    string `json:"le"`
		Count uint64 `json:"count"`
	}{le, b.Count})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (b *Bucket) UnmarshalJSON(data []byte) error {
	var v struct {
		Le    string `json:"le"`
		Count uint64 `json:"count"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	ub, err := strconv.ParseFloat(v.Le, 64) // ParseFloat accepts "+Inf"
	if err != nil {
		return err
	}
	b.UpperBound, b.Count = ub, v.Count
	return nil
}
