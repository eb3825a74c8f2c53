package match

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/canopy-org/canopy/internal/pdq"
)

// maxLine bounds a line of a hash list; a hash is 64 characters, so a
// longer line is not a hash list and is refused rather than buffered.
const maxLine = 4096

// ReadHexHashes reads a PDQ hash list: one hash in the reference hex form
// (64 hex digits) a line. Blank lines are skipped, and so is everything
// from a '#' to the end of its line, so lists can carry comments and
// headers. Surrounding spaces, tabs, CRLF line ends and a leading UTF-8
// byte order mark are tolerated; anything else is an error naming its
// line, because a silently skipped hash is a missed match.
func ReadHexHashes(r io.Reader) ([]pdq.Hash, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 128), maxLine)
	var out []pdq.Hash
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte("\uFEFF"))
		}
		if i := bytes.IndexByte(b, '#'); i >= 0 {
			b = b[:i]
		}
		b = bytes.Trim(b, " \t\r")
		if len(b) == 0 {
			continue
		}
		h, err := pdq.ParseHash(string(b))
		if err != nil {
			if rerr := sc.Err(); rerr != nil {
				// The scanner hands over a line cut short by a read error;
				// the read error is the one to report.
				return nil, readError(line, rerr)
			}
			return nil, fmt.Errorf("match: read hashes: line %d: %w", line, err)
		}
		out = append(out, h)
	}
	if err := sc.Err(); err != nil {
		return nil, readError(line+1, err)
	}
	return out, nil
}

func readError(line int, err error) error {
	if errors.Is(err, bufio.ErrTooLong) {
		return fmt.Errorf("match: read hashes: line %d: longer than %d bytes", line, maxLine)
	}
	return fmt.Errorf("match: read hashes: reading line %d: %w", line, err)
}
