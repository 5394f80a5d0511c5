package platform

import (
	"github.com/neru-dev/neru/queue"
	"github.com/neru-dev/neru/scheduler"
)

// Scheduler builds the schedule runner. It runs in every worker process,
// next to the worker; any number may run (see package scheduler). Its
// invocations are counted in the platform's metrics (neru_schedules_fired_total)
// once Instrument set them.
func (p *Platform) Scheduler() (*scheduler.Runner, error) {
	var opts []scheduler.Option
	if p.Metrics != nil { // a nil *telemetry.Metrics must not become a non-nil interface
		opts = append(opts, scheduler.WithMetrics(p.Metrics))
	}
	return scheduler.NewRunner(scheduler.Config{}, p.ScheduleStore, p.Events, p.logger("scheduler"), opts...)
}

// Queues builds the queue dispatcher. It runs in every worker process, next
// to the worker, with the worker's delivery timeout, drain time and
// network guard, counting its dispatches in the platform's metrics
// (neru_queue_items_total) once Instrument set them.
func (p *Platform) Queues() (*queue.Dispatcher, error) {
	w := p.Config.Worker
	id := ""
	if w.ID != "" {
		id = "q-" + w.ID
	}
	var opts []queue.Option
	if p.Metrics != nil { // a nil *telemetry.Metrics must not become a non-nil interface
		opts = append(opts, queue.WithMetrics(p.Metrics))
	}
	return queue.NewDispatcher(queue.Config{ID: id, Timeout: w.Timeout, DrainTime: w.DrainTime, AppNetworks: p.Config.AppNetworks, Signer: p.Signer},
		p.QueueStore, p.Instances, p.logger("queues"), opts...)
}
