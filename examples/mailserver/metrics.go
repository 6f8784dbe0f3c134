package main

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
)

// metrics counts the decisions of the inbound and submission policy, per
// check and result, and writes them in the Prometheus text exposition
// format (version 0.0.4): one counter family, herald_smtp_policy_total,
// with the labels check and result, such as
//
//	herald_smtp_policy_total{check="dnsbl",result="listed"} 3
type metrics struct {
	mu     sync.Mutex
	counts map[metricKey]uint64
}

type metricKey struct{ check, result string }

const metricName = "herald_smtp_policy_total"

func newMetrics() *metrics { return &metrics{counts: map[metricKey]uint64{}} }

// inc counts one decision.
func (m *metrics) inc(check, result string) {
	m.mu.Lock()
	m.counts[metricKey{check, result}]++
	m.mu.Unlock()
}

// get returns one counter.
func (m *metrics) get(check, result string) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counts[metricKey{check, result}]
}

// writeTo writes every counter, sorted by check and result, so that the
// output is stable.
func (m *metrics) writeTo(w io.Writer) error {
	m.mu.Lock()
	keys := make([]metricKey, 0, len(m.counts))
	for k := range m.counts {
		keys = append(keys, k)
	}
	values := make([]uint64, len(keys))
	slices.SortFunc(keys, func(a, b metricKey) int {
		if c := strings.Compare(a.check, b.check); c != 0 {
			return c
		}
		return strings.Compare(a.result, b.result)
	})
	for i, k := range keys {
		values[i] = m.counts[k]
	}
	m.mu.Unlock()
	var b strings.Builder
	b.WriteString("# HELP " + metricName + " Decisions of the SMTP policy checks, by check and result.\n")
	b.WriteString("# TYPE " + metricName + " counter\n")
	for i, k := range keys {
		fmt.Fprintf(&b, "%s{check=\"%s\",result=\"%s\"} %d\n", metricName, labelValue(k.check), labelValue(k.result), values[i])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// labelValue escapes a label value as the text format requires: backslash,
// double quote and line feed.
func labelValue(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// serveMetrics answers GET /metrics, to clients on loopback or in
// -relay-networks only, and never to an address of -proxy-from: the HTTP
// listener also serves autoconfig to the world, and the counters are the
// operator's business.
func (s *server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !s.trustedHTTPClient(ap.Addr().Unmap()) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.policy.metrics.writeTo(w)
}

func (s *server) trustedHTTPClient(a netip.Addr) bool {
	// A load balancer forwards other people's requests.
	for _, p := range s.cfg.proxyFrom {
		if p.Contains(a) {
			return false
		}
	}
	if a.IsLoopback() {
		return true
	}
	for _, p := range s.cfg.relayNetworks {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
