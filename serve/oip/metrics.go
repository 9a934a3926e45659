package oip

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/densecl/densecl/serve"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics, on a registry of its own
// (GET /metrics):
//
//	denseserve_requests_total{model,version,outcome}  requests by outcome: success, failure (bad request,
//	                                                  timeout, model error), rejected (queue full, not ready)
//	denseserve_request_duration_seconds{model,version} from the request's arrival to its answer, inference only
//	denseserve_queue_duration_seconds{model,version}   time in the batcher's queue
//	denseserve_compute_duration_seconds{model,version} the time of the batch that ran the request
//	denseserve_batch_size{model,version}               samples per batch run
//	denseserve_queue_depth{model,version}              samples waiting now
//	denseserve_model_info{model,version,device}        1 for each device a model's replicas run on
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	queue    *prometheus.HistogramVec
	compute  *prometheus.HistogramVec
	batch    *prometheus.HistogramVec
	depth    *prometheus.GaugeVec
	info     *prometheus.GaugeVec
	repo     *Repository
}

// latencyBuckets span 50 µs to about 3 s, in seconds.
var latencyBuckets = prometheus.ExponentialBuckets(50e-6, 2, 17)

func newMetrics() *metrics {
	lv := []string{"model", "version"}
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "denseserve_requests_total",
			Help: "Inference requests by outcome: success, failure (bad request, timeout, model error) or rejected (queue full, not ready)."},
			[]string{"model", "version", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "denseserve_request_duration_seconds",
			Help: "Time from an inference request's arrival to its answer.", Buckets: latencyBuckets}, lv),
		queue: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "denseserve_queue_duration_seconds",
			Help: "Time a request waited in the batcher's queue.", Buckets: latencyBuckets}, lv),
		compute: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "denseserve_compute_duration_seconds",
			Help: "Compute time of the batch that ran a request.", Buckets: latencyBuckets}, lv),
		batch: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "denseserve_batch_size",
			Help: "Samples per batch run.", Buckets: prometheus.ExponentialBuckets(1, 2, 11)}, lv),
		depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "denseserve_queue_depth",
			Help: "Samples waiting in the batcher's queue."}, lv),
		info: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "denseserve_model_info",
			Help: "1 for each device a loaded model's replicas run on."}, []string{"model", "version", "device"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.queue, m.compute, m.batch, depthCollector{m}, m.info)
	return m
}

// depthCollector reads every loaded model's queue depth at scrape time.
type depthCollector struct{ m *metrics }

func (c depthCollector) Describe(ch chan<- *prometheus.Desc) { c.m.depth.Describe(ch) }

func (c depthCollector) Collect(ch chan<- prometheus.Metric) {
	if r := c.m.repo; r != nil {
		r.mu.Lock()
		for _, mod := range r.models {
			for k, v := range mod.versions {
				if v.b != nil {
					c.m.depth.WithLabelValues(mod.name, k).Set(float64(v.b.Stats().QueueDepth))
				}
			}
		}
		r.mu.Unlock()
	}
	c.m.depth.Collect(ch)
}

// observer is one model version's serve.Observer.
type observer struct {
	m              *metrics
	model, version string
	devices        []string
	queue, compute prometheus.Observer
	batch          prometheus.Observer
	// The request metrics of a success, looked up once rather than per
	// request.
	success  prometheus.Counter
	duration prometheus.Observer
}

var _ serve.Observer = (*observer)(nil)

func (m *metrics) observer(model, version string, devices []string) *observer {
	o := &observer{m: m, model: model, version: version, devices: devices,
		queue:    m.queue.WithLabelValues(model, version),
		compute:  m.compute.WithLabelValues(model, version),
		batch:    m.batch.WithLabelValues(model, version),
		success:  m.requests.WithLabelValues(model, version, outcomeSuccess),
		duration: m.duration.WithLabelValues(model, version)}
	for _, d := range devices {
		m.info.WithLabelValues(model, version, d).Set(1)
	}
	return o
}

// forget removes the version's gauges once it is unloaded.
func (o *observer) forget() {
	for _, d := range o.devices {
		o.m.info.DeleteLabelValues(o.model, o.version, d)
	}
	o.m.depth.DeleteLabelValues(o.model, o.version)
}

// Batch implements serve.Observer.
func (o *observer) Batch(replica, samples, requests int, compute time.Duration) {
	o.batch.Observe(float64(samples))
}

// Request implements serve.Observer.
func (o *observer) Request(samples int, queue, compute time.Duration, err error) {
	if errors.Is(err, serve.ErrOverloaded) || errors.Is(err, serve.ErrClosed) {
		return
	}
	o.queue.Observe(queue.Seconds())
	if compute > 0 {
		o.compute.Observe(compute.Seconds())
	}
}

// done counts one finished inference request of the version that o
// observes.
func (o *observer) done(outcome string, d time.Duration) {
	if outcome != outcomeSuccess {
		o.m.done(o.model, o.version, outcome, d)
		return
	}
	o.success.Inc()
	o.duration.Observe(d.Seconds())
}

// done counts one finished inference request.
func (m *metrics) done(model, version, outcome string, d time.Duration) {
	if model == "" || strings.ContainsAny(version, "\x00") {
		return
	}
	m.requests.WithLabelValues(model, version, outcome).Inc()
	m.duration.WithLabelValues(model, version).Observe(d.Seconds())
}

// promHandler serves the registry in Prometheus's text format.
func promHandler(m *metrics) http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
