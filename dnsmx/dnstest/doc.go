// Package dnstest runs a real DNS server on 127.0.0.1 for tests: a
// [Server] answers from a [Zone] over UDP and TCP on one random port, and
// [Server.Resolver] returns a [dnsmx.Client] that asks only it, so a test
// exercises the whole DNS wire (EDNS0, truncation and TCP retry, CNAMEs,
// timeouts) without the internet.
//
//	z := dnstest.NewZone()
//	z.AddMX("example.com", 10, "mx.example.com")
//	z.AddA("mx.example.com", "192.0.2.1", "2001:db8::1")
//	z.AddTXT("example.com", "v=spf1 ", "mx -all") // two character-strings
//	z.SetFault("slow.example.com", 0, dnstest.Timeout)
//	srv := dnstest.NewServer(t, z) // closed when the test ends
//	r := srv.Resolver(nil)         // a dnsmx.Resolver with a 100ms timeout
//
// Zones are built in Go (AddA, AddMX, AddTXT, AddPTR, AddCNAME, AddRR) or
// from zone-file text ([ParseZone], [Zone.AddText], [Zone.MustAdd]). A name
// without records is NXDOMAIN; a name with other types only is NODATA;
// both carry the zone's SOA so that negative answers are cached for
// SOA MINIMUM seconds. Faults ([Timeout], [ServFail], [Refused], [Truncate],
// [Malformed]) are set per name and optionally per type with
// [Zone.SetFault]; [Zone.SetAuthentic] sets the AD bit. [Server.Queries]
// records every query with its transport, to assert on caching and TCP
// fallback.
package dnstest
