package wal

import (
	"errors"
	"os"
)

var (
	// ErrExist is returned by Create when the directory already exists. It
	// wraps os.ErrExist.
	ErrExist = &existError{}
	// ErrClosed is returned by Save after Close.
	ErrClosed = errors.New("wal: closed")
)

type existError struct{}

func (*existError) Error() string { return "wal: directory exists" }
func (*existError) Unwrap() error { return os.ErrExist }
