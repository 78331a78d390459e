"""The DNS half of delivery (src/dns) end to end: the c-ares resolver on a
libevent loop (tests/tools/dnsq, through src/server/serve_dns.c) asking a
dnsmasq that serves the test's records (pbtest.DNS). RFC 5321 5.1 (MX
order, implicit MX, our own name), RFC 7505 (null MX), RFC 3463 codes."""

import subprocess
import unittest

import pbtest

V6 = "2001:db8::"   # documentation addresses: resolved, never connected to

RECORDS = dict(
    mx={
        "a.test": [(20, "mx2.a.test"), (10, "mx1.a.test"), (30, "mx3.a.test")],
        "eq.test": [(10, "e1.eq.test"), (10, "e2.eq.test"), (20, "e3.eq.test")],
        "own.test": [(10, "mx1.a.test"), (20, "mx.own.test"), (30, "mx3.a.test")],
        "ownbest.test": [(10, "mx.own.test"), (20, "mx1.a.test")],
        "viacname.test": [(10, "alias.a.test")],
        "noaddr.test": [(10, "gone.noaddr.test"), (20, "bare.noaddr.test")],
        "halfaddr.test": [(10, "gone.halfaddr.test"), (20, "mx2.a.test")],
        "downmx.test": [(10, "mx.down.test")],
        "mxonly.test": [(10, "mx1.a.test")],
        # 40 MX records do not fit the 512 octets of a UDP answer: the
        # truncated answer is asked again over TCP (RFC 1035 4.2.2).
        "big.test": [(100 - i, "mx-with-a-long-name-%02d.big.test" % i) for i in range(40)],
    },
    hosts={
        "mx1.a.test": ["127.0.0.11", V6 + "11"],
        "mx2.a.test": ["127.0.0.12"],
        "mx3.a.test": [V6 + "13"],
        "e1.eq.test": ["127.0.0.21"],
        "e2.eq.test": ["127.0.0.22"],
        "e3.eq.test": ["127.0.0.23"],
        "mx.own.test": ["127.0.0.31"],
        "implicit.test": ["127.0.0.41", V6 + "41"],
        "target.a.test": ["127.0.0.51"],
        "bare.noaddr.test": [],
        "dual.test": ["127.0.0.61", "127.0.0.62", V6 + "61", V6 + "62"],
        **{"mx-with-a-long-name-%02d.big.test" % i: ["127.0.1.%d" % i] for i in range(40)},
    },
    cnames={"cname.test": "a.test", "alias.a.test": "target.a.test",
            "hostalias.test": "target.a.test"},
    null_mx=["null.test"],
    silent=["down.test"],
)


# Generous for the answers a test expects (a loaded machine under ASan
# must not turn them into timeouts); short where a timeout is the point.
ANSWER_MS, SILENT_MS = 5000, 300


def dnsq(dns_server, *args, own=None, timeout_ms=ANSWER_MS, tries=2, answered=None):
    """Runs dnsq; returns [(name, [(pref, host, [addrs])], status_words)]
    in the order the lookups started; answered (a list): gets the names
    in the order they were answered."""
    cmd = [pbtest.dnsq_bin(), "-s", dns_server, "-t", str(timeout_ms), "-T", str(tries)]
    if own:
        cmd += ["-o", own]
    p = subprocess.run(cmd + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120)
    err = p.stderr.decode(errors="replace")
    pbtest.Server._check_sanitizers(err, "dnsq")
    if p.returncode != 0:
        raise AssertionError("dnsq %s failed (%d): %s" % (args, p.returncode, err))
    out = []
    for line in p.stdout.decode().splitlines():
        words = line.split(" ")
        if words[0] == "lookup":
            out.append((words[1], [], None))
        elif words[0] == "target":
            out[-1][1].append((int(words[1]), words[2], words[3:]))
        elif words[0] == "answered" and answered is not None:
            answered.append((int(words[1]), out[-1][0]))
        elif words[0] == "cancelled":
            out[-1] = (out[-1][0], out[-1][1], ["cancelled"])
        elif words[0] == "status":
            out[-1] = (out[-1][0], out[-1][1], words[1:])
    if answered is not None:
        answered.sort()
        answered[:] = [name for _, name in answered]
    return out


class DnsRoutes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = pbtest.DNS(**RECORDS).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.dns.__exit__(None, None, None)

    def route(self, name, **kw):
        (res,) = dnsq(self.dns.server, name, **kw)
        return res[1], res[2]

    def assertFails(self, name, kind, enhanced, **kw):
        targets, status = self.route(name, **kw)
        self.assertEqual(status[:2], [kind, enhanced], (name, targets, status))
        self.assertEqual(targets, [])
        return " ".join(status[2:])

    def test_preference_order(self):
        # RFC 5321 5.1: lowest preference value first.
        targets, status = self.route("a.test")
        self.assertEqual(status, ["ok"])
        self.assertEqual([(p, h) for p, h, _ in targets],
                         [(10, "mx1.a.test"), (20, "mx2.a.test"), (30, "mx3.a.test")])

    def test_equal_preference_random(self):
        # RFC 5321 5.1: among equal preferences the order is random.
        runs = dnsq(self.dns.server, "-n", "20", "eq.test")
        self.assertEqual(len(runs), 20)
        orders = set()
        for _, targets, status in runs:
            self.assertEqual(status, ["ok"])
            hosts = [h for _, h, _ in targets]
            self.assertEqual(set(hosts[:2]), {"e1.eq.test", "e2.eq.test"})
            self.assertEqual(hosts[2], "e3.eq.test")
            orders.add(tuple(hosts[:2]))
        # Both orders in 20 runs: fails by chance with p = 2 * 2^-20.
        self.assertEqual(len(orders), 2, orders)

    def test_implicit_mx(self):
        # RFC 5321 5.1: no MX, the domain's own address, preference 0.
        targets, status = self.route("implicit.test")
        self.assertEqual(status, ["ok"])
        self.assertEqual(targets, [(0, "implicit.test", [V6 + "41", "127.0.0.41"])])

    def test_null_mx_bounces(self):
        # RFC 7505 3 and 4.1: a lone MX "0 ." says no mail: 5.1.10 at once.
        text = self.assertFails("null.test", "permfail", "5.1.10")
        self.assertIn("null MX", text)

    def test_nxdomain_is_permanent(self):
        text = self.assertFails("nowhere.test", "permfail", "5.1.2")
        self.assertIn("nowhere.test", text)

    def test_refused_is_temporary(self):
        # dnsmasq refuses names outside its zones.
        self.assertFails("example.org", "tempfail", "4.4.3")

    def test_silent_forwarder_is_temporary(self):
        # dnsmasq forwards down.test to a server that never answers.
        text = self.assertFails("down.test", "tempfail", "4.4.3", timeout_ms=SILENT_MS,
                                tries=1)
        self.assertIn("timeout", text)

    def test_silent_lookup_does_not_hold_others(self):
        # Nothing blocks: a lookup started after one that waits for a
        # silent server is answered first.
        order = []
        res = dnsq(self.dns.server, "down.test", "a.test", "implicit.test",
                   timeout_ms=3000, tries=1, answered=order)
        self.assertEqual(order[-1], "down.test")
        self.assertEqual(sorted(order[:2]), ["a.test", "implicit.test"])
        self.assertEqual([r[2][0] for r in res], ["tempfail", "ok", "ok"])

    def test_silent_server_is_temporary(self):
        with pbtest.SilentDNS() as silent:
            (res,) = dnsq(silent.server, "a.test", timeout_ms=SILENT_MS, tries=2)
        self.assertEqual(res[2][:2], ["tempfail", "4.4.3"])
        self.assertIn("timeout", " ".join(res[2]))

    def test_servfail_is_temporary(self):
        with pbtest.FailingDNS(rcode=2) as servfail:
            (res,) = dnsq(servfail.server, "a.test")
            self.assertGreater(servfail.queries, 0)
        self.assertEqual(res[2][:2], ["tempfail", "4.4.3"])
        # The same server saying NXDOMAIN: permanent.
        with pbtest.FailingDNS(rcode=3) as nx:
            (res,) = dnsq(nx.server, "a.test")
        self.assertEqual(res[2][:2], ["permfail", "5.1.2"])

    def test_mx_host_lookup_trouble_is_temporary(self):
        # The MX is known but its host's addresses cannot be had for now.
        self.assertFails("downmx.test", "tempfail", "4.4.3", timeout_ms=SILENT_MS, tries=1)

    def test_cname_domain_followed(self):
        targets, status = self.route("cname.test")
        self.assertEqual(status, ["ok"])
        self.assertEqual([h for _, h, _ in targets], ["mx1.a.test", "mx2.a.test", "mx3.a.test"])

    def test_cname_mx_host_followed(self):
        targets, status = self.route("viacname.test")
        self.assertEqual(status, ["ok"])
        self.assertEqual(targets, [(10, "alias.a.test", ["127.0.0.51"])])

    def test_own_hostname_cuts_the_walk(self):
        # RFC 5321 5.1: drop ourselves and every MX of equal or higher value.
        targets, status = self.route("own.test", own="MX.own.test")
        self.assertEqual(status, ["ok"])
        self.assertEqual([(p, h) for p, h, _ in targets], [(10, "mx1.a.test")])
        # Not us: all three.
        targets, _ = self.route("own.test", own="mx.elsewhere.test")
        self.assertEqual(len(targets), 3)

    def test_own_hostname_best_loops(self):
        text = self.assertFails("ownbest.test", "permfail", "5.4.6", own="mx.own.test")
        self.assertIn("loops back to myself", text)

    def test_aaaa_and_a_both(self):
        targets, status = self.route("a.test")
        self.assertEqual(targets[0], (10, "mx1.a.test", [V6 + "11", "127.0.0.11"]))
        self.assertEqual(targets[2], (30, "mx3.a.test", [V6 + "13"]))
        (res,) = dnsq(self.dns.server, "-H", "dual.test")
        addrs = res[1][0][2]
        self.assertEqual(sorted(addrs[:2]), [V6 + "61", V6 + "62"])
        self.assertEqual(sorted(addrs[2:]), ["127.0.0.61", "127.0.0.62"])

    def test_host_without_address_skipped(self):
        targets, status = self.route("halfaddr.test")
        self.assertEqual(status, ["ok"])
        self.assertEqual([h for _, h, _ in targets], ["mx2.a.test"])
        # No MX host has an address: nothing to try, permanently.
        self.assertFails("noaddr.test", "permfail", "5.4.4")

    def test_large_answer_over_tcp(self):
        targets, status = self.route("big.test")
        self.assertEqual(status, ["ok"])
        # The 10 most preferred of the 40 (preference 61 to 70).
        self.assertEqual([(p, a) for p, _, a in targets],
                         [(61 + i, ["127.0.1.%d" % (39 - i)]) for i in range(10)])
        self.assertIn("query[MX] big.test", self.dns.log_text())

    def test_cancel_and_close(self):
        # A cancelled lookup is never answered; closing the resolver
        # answers the rest (temporary) and frees everything (LeakSanitizer
        # watches dnsq's exit).
        res = dnsq(self.dns.server, "-C", "-n", "2", "a.test", "down.test")
        self.assertEqual([r[2][0] for r in res], ["ok", "cancelled", "ok", "cancelled"])
        res = dnsq(self.dns.server, "-F", "a.test", "down.test", "implicit.test")
        for name, targets, status in res:
            self.assertEqual(status[:2], ["tempfail", "4.4.3"], name)
            self.assertIn("resolver closed", " ".join(status))
        res = dnsq(self.dns.server, "-F", "-C", "-n", "2", "a.test")
        self.assertEqual([r[2][:2] for r in res], [["tempfail", "4.4.3"], ["cancelled"]])


class DnsHosts(unittest.TestCase):
    """[delivery] relay and [routes] hosts: "[host]" semantics, no MX."""

    def test_hosts(self):
        with pbtest.DNS(**RECORDS) as dns:
            res = dnsq(dns.server, "-H", "mx2.a.test", "127.0.0.9", "[::1]", "[mx2.a.test]",
                       "hostalias.test", "mxonly.test", "nowhere.test")
        got = {name: (targets, status) for name, targets, status in res}
        self.assertEqual(got["mx2.a.test"], ([(0, "mx2.a.test", ["127.0.0.12"])], ["ok"]))
        self.assertEqual(got["127.0.0.9"][0][0][2], ["127.0.0.9"])
        self.assertEqual(got["[::1]"][0][0][2], ["::1"])
        self.assertEqual(got["[mx2.a.test]"][0][0][2], ["127.0.0.12"])
        self.assertEqual(got["hostalias.test"][0][0][2], ["127.0.0.51"])
        # An MX is not looked at, and a next hop without address waits
        # for the administrator (temporary), whatever the reason.
        self.assertEqual(got["mxonly.test"][1][:2], ["tempfail", "4.4.4"])
        self.assertEqual(got["nowhere.test"][1][:2], ["tempfail", "4.4.4"])

    def test_numeric_without_dns(self):
        with pbtest.SilentDNS() as silent:
            res = dnsq(silent.server, "-H", "127.0.0.7", "[2001:db8::7]")
            self.assertEqual([r[1][0][2] for r in res], [["127.0.0.7"], ["2001:db8::7"]])
            # RFC 5321 4.1.3 address literals as a mail domain.
            res = dnsq(silent.server, "[127.0.0.8]", "[IPv6:2001:db8::8]", "[nonsense]")
        self.assertEqual([r[1][0][2] for r in res[:2]], [["127.0.0.8"], ["2001:db8::8"]])
        self.assertEqual(res[2][2][:2], ["permfail", "5.1.2"])


if __name__ == "__main__":
    unittest.main()
