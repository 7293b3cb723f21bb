package image

import (
	"compress/gzip"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// progressInterval bounds how often progress is reported.
const progressInterval = time.Second

// progress counts downloaded bytes of one pull and reports them on a ticker.
type progress struct {
	ref   string
	fn    func(Progress)
	done  atomic.Int64
	total atomic.Int64
	quit  chan struct{}
	wg    sync.WaitGroup
}

func (s *Store) startProgress(ref string, fn func(Progress)) *progress {
	if fn == nil {
		log := s.log
		fn = func(p Progress) {
			// A pull that waits on layers another pull is downloading counts nothing itself:
			// the other pull's lines show that download.
			if p.Done > 0 && p.Done < p.Total {
				log.Info("pulling image", "ref", p.Ref, "done", p.Done, "total", p.Total)
			}
		}
	}
	p := &progress{ref: ref, fn: fn, quit: make(chan struct{})}
	p.wg.Go(p.run)
	return p
}

func (p *progress) run() {
	t := time.NewTicker(progressInterval)
	defer t.Stop()
	last := int64(-1)
	for {
		select {
		case <-p.quit:
			return
		case <-t.C:
			if d := p.done.Load(); d != last && p.total.Load() > 0 {
				last = d
				p.fn(p.snapshot())
			}
		}
	}
}

func (p *progress) snapshot() Progress {
	return Progress{Ref: p.ref, Done: p.done.Load(), Total: p.total.Load()}
}

// stop ends the ticker and reports the final count when anything was downloaded.
func (p *progress) stop() {
	close(p.quit)
	p.wg.Wait()
	if p.total.Load() > 0 {
		p.fn(p.snapshot())
	}
}

func newGzipReader(r io.Reader) (*gzip.Reader, error) {
	return gzip.NewReader(r)
}
