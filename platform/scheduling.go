package platform

import (
	"github.com/neru-dev/neru/queue"
	"github.com/neru-dev/neru/scheduler"
)

// Scheduler builds the schedule runner. It runs in every worker process,
// next to the worker; any number may run (see package scheduler).
func (p *Platform) Scheduler() (*scheduler.Runner, error) {
	return scheduler.NewRunner(scheduler.Config{}, p.ScheduleStore, p.Events, p.logger("scheduler"))
}

// Queues builds the queue dispatcher. It runs in every worker process, next
// to the worker, with the worker's delivery timeout, drain time and
// network guard.
func (p *Platform) Queues() (*queue.Dispatcher, error) {
	w := p.Config.Worker
	id := ""
	if w.ID != "" {
		id = "q-" + w.ID
	}
	return queue.NewDispatcher(queue.Config{ID: id, Timeout: w.Timeout, DrainTime: w.DrainTime, AppNetworks: p.Config.AppNetworks, Signer: p.Signer},
		p.QueueStore, p.Instances, p.logger("queues"))
}
