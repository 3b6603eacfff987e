//go:build !linux

package search

// pageOutMapped is Linux's: elsewhere the kernel keeps the pages until it needs them.
func pageOutMapped(string) (int64, error) { return 0, nil }
