package main

import (
	"context"
	"sync"
	"time"

	analyticsv1 "github.com/newsroom/newsroom/gen/go/newsroom/analytics/v1"
)

// statsCache keeps each article's read stats for maxAge. A miss fetches them; concurrent misses
// of one article wait for the same fetch instead of each making their own.
type statsCache struct {
	maxAge time.Duration
	fetch  func(ctx context.Context, name string) (*analyticsv1.ReadStats, error)

	mu       sync.Mutex
	entries  map[string]cachedStats
	inflight map[string]*statsFetch
}

type cachedStats struct {
	stats *analyticsv1.ReadStats
	at    time.Time // when the call that returned them was sent
}

type statsFetch struct {
	done  chan struct{}
	stats *analyticsv1.ReadStats // nil when the fetch failed
}

func newStatsCache(maxAge time.Duration, fetch func(context.Context, string) (*analyticsv1.ReadStats, error)) *statsCache {
	return &statsCache{
		maxAge:   maxAge,
		fetch:    fetch,
		entries:  make(map[string]cachedStats),
		inflight: make(map[string]*statsFetch),
	}
}

// get returns the article's stats, at most maxAge old, or nil when they could not be had before
// ctx ended or the fetch failed. The returned message is shared: do not modify it.
func (c *statsCache) get(ctx context.Context, name string) *analyticsv1.ReadStats {
	now := time.Now()
	c.mu.Lock()
	if e, ok := c.entries[name]; ok && now.Sub(e.at) < c.maxAge {
		c.mu.Unlock()
		return e.stats
	}
	f, waiting := c.inflight[name]
	if !waiting {
		f = &statsFetch{done: make(chan struct{})}
		c.inflight[name] = f
	}
	c.mu.Unlock()

	if waiting {
		select {
		case <-f.done:
			return f.stats
		case <-ctx.Done():
			return nil
		}
	}
	stats, err := c.fetch(ctx, name)
	c.mu.Lock()
	delete(c.inflight, name)
	if err == nil {
		c.putLocked(name, stats, now)
		f.stats = stats
	}
	c.mu.Unlock()
	close(f.done)
	return f.stats
}

// put keeps stats obtained from a call sent at `at` (ReadArticle's), unless newer ones are kept.
func (c *statsCache) put(name string, stats *analyticsv1.ReadStats, at time.Time) {
	c.mu.Lock()
	c.putLocked(name, stats, at)
	c.mu.Unlock()
}

func (c *statsCache) putLocked(name string, stats *analyticsv1.ReadStats, at time.Time) {
	if e, ok := c.entries[name]; ok && e.at.After(at) {
		return
	}
	c.entries[name] = cachedStats{stats: stats, at: at}
}
