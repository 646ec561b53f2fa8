package kernel

import (
	"context"
	"errors"
	"time"

	"github.com/strongroom/strongroom/vault/metrics"
	"github.com/strongroom/strongroom/vault/reactor"
	"github.com/strongroom/strongroom/vault/store"
)

// Metrics is the set this view counts into (nil when none).
func (v *View) Metrics() *metrics.Set { return v.MetricSet }

// SyncCommit commits b durably, timing it.
func (v *View) SyncCommit(b store.Batch) error {
	start := time.Now()
	err := b.Commit()
	if err == nil {
		v.Metrics().Commit(start)
	}
	return err
}

// RunCode runs reactor code, counting the execution by outcome.
func (v *View) RunCode(ctx context.Context, prog *reactor.Program, in reactor.Invocation) (*reactor.Result, error) {
	done := v.Metrics().ReactorStarted()
	res, err := v.Runtime.Run(ctx, prog, in)
	done(reactorOutcome(err))
	return res, err
}

func reactorOutcome(err error) string {
	var re *reactor.Error
	var ch *reactor.CustomHTTPResponse
	switch {
	case err == nil, errors.As(err, &ch): // a custom response is the code's answer
		return metrics.OutcomeSuccess
	case errors.As(err, &re) && re.Status == 408:
		return metrics.OutcomeTimeout
	case errors.As(err, &re) && (re.Status == 429 || re.Status == 503):
		return metrics.OutcomeBusy
	}
	return metrics.OutcomeError
}
