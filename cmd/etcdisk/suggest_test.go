package main

import "testing"

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"run", "run", 0}, {"", "abc", 3}, {"abc", "", 3},
		{"duraton", "duration", 1}, {"rnu", "run", 1}, {"versoin", "version", 1},
		{"kitten", "sitting", 3}, {"neighbour", "neighbor", 1}, {"ca", "abc", 3},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestClosest(t *testing.T) {
	flags := []string{"dir", "device", "duration", "destroy-data", "output", "out", "ops", "rate", "neighbor"}
	for _, tc := range []struct{ word, want string }{
		{"duraton", "duration"},
		{"dur", "duration"},  // the one flag it begins
		{"de", ""},           // begins several, and too short to guess
		{"dri", "dir"},       // a swap
		{"ouptut", "output"}, // a swap
		{"out-put", "output"},
		{"zzzzzz", ""},
		{"x", ""},
		{"rat", "rate"},
		{"opz", "ops"},
	} {
		if got := closest(tc.word, flags); got != tc.want {
			t.Errorf("closest(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
}
