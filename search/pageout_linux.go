package search

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// pageOutMapped asks the kernel to reclaim the pages of the files under dir that this
// process has mapped (Bleve maps its segments). They are clean copies of the files, so
// nothing is lost: the next read faults them in again. MADV_PAGEOUT, unlike MADV_DONTNEED,
// never discards data, so a segment unmapped meanwhile, and memory mapped in its place, is
// safe. It returns how many bytes of mappings it asked about.
func pageOutMapped(dir string) (int64, error) {
	// The kernel names each mapping by its file's absolute path, links resolved.
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	prefix := filepath.Clean(dir) + string(filepath.Separator)
	var asked int64
	var firstErr error
	for line := range strings.SplitSeq(string(maps), "\n") {
		start, end, path, ok := parseMapsLine(line)
		if !ok || !strings.HasPrefix(path, prefix) {
			continue
		}
		// ENOMEM (gone meanwhile) and EINVAL (a kernel before 5.4) leave the pages as they were.
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, start, end-start, unix.MADV_PAGEOUT); errno != 0 {
			if errno != unix.ENOMEM && firstErr == nil {
				firstErr = errno
			}
			continue
		}
		asked += int64(end - start)
	}
	return asked, firstErr
}

// parseMapsLine reads "start-end perms offset dev inode path" from /proc/self/maps.
func parseMapsLine(line string) (start, end uintptr, path string, ok bool) {
	fields := strings.SplitN(line, " ", 6)
	if len(fields) < 6 {
		return 0, 0, "", false
	}
	lo, hi, found := strings.Cut(fields[0], "-")
	s, err1 := strconv.ParseUint(lo, 16, 64)
	e, err2 := strconv.ParseUint(hi, 16, 64)
	if !found || err1 != nil || err2 != nil || e <= s {
		return 0, 0, "", false
	}
	path = strings.TrimSuffix(strings.TrimLeft(fields[5], " "), " (deleted)")
	return uintptr(s), uintptr(e), path, true
}
