package caddymodules

import (
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/strongroom/strongroom/vault/reactor"
)

// workerObserver feeds the reactor worker pools' events to the vault's
// metrics and log. Pools outlive configs, so it uses the process's
// collectors and Caddy's default logger rather than one config's.
type workerObserver struct{}

var _ reactor.PoolObserver = workerObserver{}

func (workerObserver) WorkerStarted() { vaultMetrics.WorkerStarted() }

func (workerObserver) WorkerBusy(delta int, wait time.Duration) { vaultMetrics.WorkerBusy(delta, wait) }

// WorkerEnded logs why a worker ended: the reason, its exit status or
// signal and how long it lived; never what it was running (no tenant, no
// code, no data). Ends the pool chose in the ordinary course (idle,
// shutdown, recycled after an unstoppable call) are debug; deaths and
// deadline kills are warnings.
func (workerObserver) WorkerEnded(e reactor.Exit) {
	vaultMetrics.WorkerEnded(e.Reason)
	level := zapcore.WarnLevel
	switch e.Reason {
	case reactor.ExitIdle, reactor.ExitShutdown, reactor.ExitRecycled:
		level = zapcore.DebugLevel
	}
	log := caddy.Log().Named("vault.reactor_workers")
	if ce := log.Check(level, "reactor worker ended"); ce != nil {
		fields := []zap.Field{zap.String("reason", e.Reason), zap.Int("pid", e.PID), zap.Duration("lived", e.Lived)}
		if e.Signal != "" {
			fields = append(fields, zap.String("signal", e.Signal))
		} else {
			fields = append(fields, zap.Int("exit_code", e.Code))
		}
		ce.Write(fields...)
	}
}
