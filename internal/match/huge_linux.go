package match

import (
	"syscall"
	"unsafe"
)

// Linux madvise advice values, which package syscall does not name.
const (
	madvHugepage = 14 // MADV_HUGEPAGE: back this range with huge pages when faulted
	madvCollapse = 25 // MADV_COLLAPSE (Linux 6.1): make it huge pages now
)

const hugePage = 2 << 20

// hugePages asks the kernel to back the 2 MiB-aligned interior of s with
// transparent huge pages. A probe's loads land on random pages of large
// arrays; with 4 KiB pages nearly each one also misses the TLB, and under
// virtualisation a TLB miss is a two-level page walk that costs more than
// the cache miss itself and limits how many misses can overlap. Hosts
// with THP set to "madvise" (the usual default) give huge pages only to
// ranges advised like this, and the Go runtime advises none of the heap.
//
// Call it once right after allocating s, before writing it, so that fresh
// memory is faulted in as huge pages, and again with collapse once it is
// filled, for memory the allocator had already touched. It is advice: if
// the kernel declines, nothing changes but speed. The memory stays the Go
// heap's.
func hugePages[T any](s []T, collapse bool) {
	if len(s) == 0 {
		return
	}
	start := uintptr(unsafe.Pointer(&s[0]))
	end := start + uintptr(len(s))*unsafe.Sizeof(s[0])
	beg := (start + hugePage - 1) &^ (hugePage - 1)
	end &^= hugePage - 1
	if end <= beg {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(&s[0]), beg-start)), end-beg)
	advice := madvHugepage
	if collapse {
		advice = madvCollapse
	}
	_ = syscall.Madvise(b, advice)
}
