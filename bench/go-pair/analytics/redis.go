package main

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"
)

// errUnavailable is what every caller of a batch gets when Redis cannot be reached.
var errUnavailable = errors.New("Redis is unavailable")

// command is one Redis command of a pipeline.
type command struct {
	name string
	args []interface{}
}

// job is one caller's commands. A worker fills in replies (one per command, a redis.Error for an
// error reply) or err, then closes done.
type job struct {
	cmds    []command
	replies []interface{}
	err     error
	done    chan struct{}
}

// pipeliner sends the commands of concurrent callers to Redis in pipelines. Callers queue jobs on
// one channel; each of a small number of workers takes the first job waiting, everything else
// already queued behind it (up to maxBatch jobs), sends all their commands on one pooled
// connection, flushes once, reads the replies in order and hands each caller its own. One caller
// alone costs one round trip; many callers at once share one round trip per worker.
type pipeliner struct {
	pool     *redis.Pool
	jobs     chan *job
	maxBatch int
	// scripts are loaded again on a NOSCRIPT reply (Redis restarted or its script cache was
	// flushed), and the commands that got it are sent once more.
	scripts []*redis.Script
}

func newPipeliner(pool *redis.Pool, workers, maxBatch int, scripts ...*redis.Script) *pipeliner {
	p := &pipeliner{
		pool:     pool,
		jobs:     make(chan *job, maxBatch*workers),
		maxBatch: maxBatch,
		scripts:  scripts,
	}
	for i := 0; i < workers; i++ {
		go p.work()
	}
	return p
}

// do runs cmds as one caller's part of a pipeline and returns their replies, in order. An error
// reply is returned as a redis.Error in its place; err is errUnavailable when Redis could not be
// reached, or ctx's error when ctx ended first (the commands may still run).
func (p *pipeliner) do(ctx context.Context, cmds ...command) ([]interface{}, error) {
	j := &job{cmds: cmds, done: make(chan struct{})}
	select {
	case p.jobs <- j:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case <-j.done:
		return j.replies, j.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *pipeliner) work() {
	batch := make([]*job, 0, p.maxBatch)
	for first := range p.jobs {
		batch = append(batch[:0], first)
	collect:
		for len(batch) < p.maxBatch {
			select {
			case j := <-p.jobs:
				batch = append(batch, j)
			default:
				break collect
			}
		}
		p.send(batch)
		for i := range batch {
			batch[i] = nil
		}
	}
}

// send runs one batch as one pipeline and completes every job of it.
func (p *pipeliner) send(batch []*job) {
	conn := p.pool.Get()
	defer func() { conn.Close() }()
	err := p.roundTrip(conn, batch)
	if err != nil && conn.Err() != nil {
		// The connection may have gone stale while idle (Redis restarted): the pool drops it, and
		// the batch gets one more try on a fresh one. Every command here may run twice without
		// harm: a read is deduplicated by its read_id, the rest only read.
		conn.Close()
		conn = p.pool.Get()
		err = p.roundTrip(conn, batch)
	}
	for _, j := range batch {
		if err != nil {
			j.replies, j.err = nil, errUnavailable
		}
		close(j.done)
	}
}

// roundTrip sends every job's commands, flushes once and reads the replies into the jobs. A
// non-nil error means the connection failed and no job's replies are complete.
func (p *pipeliner) roundTrip(conn redis.Conn, batch []*job) error {
	for _, j := range batch {
		for _, c := range j.cmds {
			if err := conn.Send(c.name, c.args...); err != nil {
				return err
			}
		}
	}
	if err := conn.Flush(); err != nil {
		return err
	}
	var noScript []*interface{}
	var again []command
	for _, j := range batch {
		j.replies = make([]interface{}, len(j.cmds))
		for i := range j.cmds {
			reply, err := conn.Receive()
			var replyErr redis.Error
			switch {
			case errors.As(err, &replyErr):
				reply = replyErr
				if strings.HasPrefix(string(replyErr), "NOSCRIPT") {
					noScript = append(noScript, &j.replies[i])
					again = append(again, j.cmds[i])
				}
			case err != nil:
				return err
			}
			j.replies[i] = reply
		}
	}
	if len(again) == 0 {
		return nil
	}
	for _, s := range p.scripts {
		if err := s.Load(conn); err != nil {
			if conn.Err() != nil {
				return conn.Err()
			}
			return err
		}
	}
	for _, c := range again {
		if err := conn.Send(c.name, c.args...); err != nil {
			return err
		}
	}
	if err := conn.Flush(); err != nil {
		return err
	}
	for _, slot := range noScript {
		reply, err := conn.Receive()
		var replyErr redis.Error
		if errors.As(err, &replyErr) {
			reply = replyErr
		} else if err != nil {
			return err
		}
		*slot = reply
	}
	return nil
}

// newPool is a redigo pool of connections to addr, each with timeout for connecting, reading and
// writing. A connection that sat idle for more than a minute is checked with PING before reuse.
func newPool(addr string, size int, timeout time.Duration) *redis.Pool {
	return &redis.Pool{
		Dial: func() (redis.Conn, error) {
			return redis.Dial("tcp", addr,
				redis.DialConnectTimeout(timeout),
				redis.DialReadTimeout(timeout),
				redis.DialWriteTimeout(timeout))
		},
		MaxIdle:     size,
		IdleTimeout: 5 * time.Minute,
		TestOnBorrow: func(c redis.Conn, idleSince time.Time) error {
			if time.Since(idleSince) < time.Minute {
				return nil
			}
			_, err := c.Do("PING")
			return err
		},
	}
}
