package postgres_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/strongroom/strongroom/test/pgtest"
	"github.com/strongroom/strongroom/vault/store/postgres"
)

// BenchmarkCommit64 commits token-shaped batches (a record, three index
// entries, an audit entry) from 64 goroutines, each batch its own
// transaction (committers=-1, the baseline) and with group commit, on one
// database in one run: compare the ns/op of the sub-benchmarks.
//
//	go test ./vault/store/postgres/ -run '^$' -bench Commit64 -benchtime 3s
func BenchmarkCommit64(b *testing.B) {
	dsn := pgtest.Shared(b).NewDatabase(b)
	for _, committers := range []int{-1, 0, 1, 4} {
		b.Run(fmt.Sprint("committers=", committers), func(b *testing.B) {
			s, err := postgres.Open(postgres.Config{DSN: dsn, Committers: committers})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			var n atomic.Int64
			value := make([]byte, 600)
			b.SetParallelism(64)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					bt := s.NewBatch()
					for _, p := range []string{"tok", "ord", "fp", "srch", "audit"} {
						bt.Set(fmt.Appendf(nil, "%s/%d/%d", p, committers, i), value)
					}
					if err := bt.Commit(); err != nil {
						b.Error(err)
					}
					bt.Close()
				}
			})
		})
	}
}
