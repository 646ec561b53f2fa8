// Package metrics holds the vault's Prometheus collectors. The host (the
// Caddy app) creates one Set per process and registers it on its registry,
// so counts survive config reloads; the vault only increments it. No label
// ever carries a key, a token id, token data or plaintext: labels are fixed
// enumerations.
package metrics

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "strongroom"

// Reactor outcomes, the values of the `outcome` label.
const (
	OutcomeSuccess = "success" // the code returned a result
	OutcomeError   = "error"   // the code threw, or its result was refused
	OutcomeTimeout = "timeout" // interrupted at its deadline
	OutcomeBusy    = "busy"    // refused: too many executions in flight
)

// Set is the vault's collectors. A nil *Set counts nothing, so a vault
// without metrics needs no checks at the call sites.
type Set struct {
	tokensCreated  prometheus.Counter
	tokenReads     prometheus.Counter
	proxyRequests  prometheus.Counter
	reactorCalls   *prometheus.CounterVec
	reactorActive  prometheus.Gauge
	authFailures   prometheus.Counter
	rateLimited    *prometheus.CounterVec
	commitDuration prometheus.Histogram
	workers        workerSet
}

// New creates the collectors (unregistered).
func New() *Set {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help})
	}
	s := &Set{
		tokensCreated: counter("tokens_created_total", "Tokens created (POST /tokens, /tokenize, atomic cards and banks, children, reactor tokenize)."),
		tokenReads:    counter("token_reads_total", "Tokens read by a caller: GET of a token, each token of a list or search page, each token an expression resolved."),
		proxyRequests: counter("proxy_requests_total", "Requests forwarded by /proxy (ephemeral and pre-configured) after every check passed."),
		authFailures:  counter("auth_failures_total", "Requests refused authentication (missing or unknown API key, expired application, invalid JWT)."),
		reactorCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "reactor_invocations_total",
			Help: "Reactor code executions (react, atomic react, proxy transforms) by outcome."}, []string{"outcome"}),
		reactorActive: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "reactor_executions_in_flight",
			Help: "Reactor code executions running now."}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "rate_limited_total",
			Help: "Requests refused with 429 by the vault's rate limits, by class."}, []string{"class"}),
		commitDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "store_commit_duration_seconds",
			Help:    "Duration of durable (synced) store commits.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}),
		workers: newWorkerSet(),
	}
	for _, o := range []string{OutcomeSuccess, OutcomeError, OutcomeTimeout, OutcomeBusy} {
		s.reactorCalls.WithLabelValues(o) // every outcome is exported from the start, at 0
	}
	return s
}

// Register registers every collector on reg. A collector already
// registered there (a second provisioning of the same config) is fine.
func (s *Set) Register(reg prometheus.Registerer) error {
	for _, c := range append([]prometheus.Collector{s.tokensCreated, s.tokenReads, s.proxyRequests, s.reactorCalls,
		s.reactorActive, s.authFailures, s.rateLimited, s.commitDuration}, s.workers.collectors()...) {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return err
			}
		}
	}
	return nil
}

// TokensCreated counts n new tokens.
func (s *Set) TokensCreated(n int) {
	if s != nil && n > 0 {
		s.tokensCreated.Add(float64(n))
	}
}

// TokensRead counts n tokens read.
func (s *Set) TokensRead(n int) {
	if s != nil && n > 0 {
		s.tokenReads.Add(float64(n))
	}
}

// ProxyRequest counts one forwarded proxy request.
func (s *Set) ProxyRequest() {
	if s != nil {
		s.proxyRequests.Inc()
	}
}

// AuthFailure counts one refused authentication.
func (s *Set) AuthFailure() {
	if s != nil {
		s.authFailures.Inc()
	}
}

// RateLimited counts one request refused by the limit of class.
func (s *Set) RateLimited(class string) {
	if s != nil {
		s.rateLimited.WithLabelValues(class).Inc()
	}
}

// ReactorStarted marks an execution in flight; the returned func ends it
// with its outcome (one of the Outcome* constants).
func (s *Set) ReactorStarted() func(outcome string) {
	if s == nil {
		return func(string) {}
	}
	s.reactorActive.Inc()
	return func(outcome string) {
		s.reactorActive.Dec()
		s.reactorCalls.WithLabelValues(outcome).Inc()
	}
}

// ReactorRefused counts an execution refused before it started.
func (s *Set) ReactorRefused(outcome string) {
	if s != nil {
		s.reactorCalls.WithLabelValues(outcome).Inc()
	}
}

// Commit observes one durable commit that started at start.
func (s *Set) Commit(start time.Time) {
	if s != nil {
		s.commitDuration.Observe(time.Since(start).Seconds())
	}
}
