package audit

import "context"

// AppendBulk appends entries in batches of maxBatch from the calling
// goroutine, as the writer would, for tests and benchmarks that need a
// large log quickly.
func AppendBulk(ctx context.Context, l *Log, entries []Entry) error {
	for len(entries) > 0 {
		n := min(len(entries), maxBatch)
		batch := make([]*request, n)
		for i := range batch {
			batch[i] = &request{ctx: ctx, entry: entries[i], done: make(chan result, 1)}
		}
		l.write(batch)
		for _, r := range batch {
			if res := <-r.done; res.err != nil {
				return res.err
			}
		}
		entries = entries[n:]
	}
	return nil
}
