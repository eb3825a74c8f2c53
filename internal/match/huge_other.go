//go:build !linux

package match

// hugePages is a no-op where transparent huge pages cannot be asked for.
func hugePages[T any](s []T, collapse bool) {}
