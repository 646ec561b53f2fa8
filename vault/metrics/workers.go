package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// workerSet is the reactor worker pool's collectors. The pool is shared
// across config reloads; gauges move by deltas, so two pools alive during
// a reload add up.
type workerSet struct {
	live, busy prometheus.Gauge
	calls      prometheus.Counter
	exits      *prometheus.CounterVec
	queueWait  prometheus.Histogram
}

func newWorkerSet() workerSet {
	w := workerSet{
		live: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "reactor_workers_live",
			Help: "Reactor worker processes started and ready (idle or busy)."}),
		busy: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "reactor_workers_busy",
			Help: "Reactor worker processes serving a call now."}),
		calls: prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "reactor_worker_calls_total",
			Help: "Calls handed a reactor worker (executions, and code checked at create)."}),
		exits: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "reactor_worker_exits_total",
			Help: "Reactor worker processes ended, by reason."},
			[]string{"reason"}),
		queueWait: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "reactor_worker_queue_wait_seconds",
			Help:    "Time a call waited for a free reactor worker (0 when one was idle).",
			Buckets: []float64{.0001, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5}}),
	}
	return w
}

// ExposeWorkerExits exports strongroom_reactor_worker_exits_total at 0 for
// each reason the reactor pool reports (reactor.ExitReasons), so a reason
// is on /metrics before the first such exit.
func (s *Set) ExposeWorkerExits(reasons []string) {
	for _, r := range reasons {
		s.workers.exits.WithLabelValues(r)
	}
}

func (w workerSet) collectors() []prometheus.Collector {
	return []prometheus.Collector{w.live, w.busy, w.calls, w.exits, w.queueWait}
}

// WorkerStarted counts a reactor worker ready to serve.
func (s *Set) WorkerStarted() {
	if s != nil {
		s.workers.live.Inc()
	}
}

// WorkerEnded counts a reactor worker gone, for reason.
func (s *Set) WorkerEnded(reason string) {
	if s != nil {
		s.workers.live.Dec()
		s.workers.exits.WithLabelValues(reason).Inc()
	}
}

// WorkerBusy counts a call taking (+1, after waiting wait) or giving back
// (-1) a reactor worker.
func (s *Set) WorkerBusy(delta int, wait time.Duration) {
	if s == nil {
		return
	}
	s.workers.busy.Add(float64(delta))
	if delta > 0 {
		s.workers.calls.Inc()
		s.workers.queueWait.Observe(wait.Seconds())
	}
}
