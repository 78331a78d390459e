"""Remote delivery from the queue (issue 8): a postbox at a.test hands
queued mail to the MX of b.test, another postbox on 127.0.0.3, found
through a dnsmasq that the test starts (RFC 5321 5.1); failures for
good come back as RFC 3464 bounces, parsed with python3's email
package; a far side that is down is retried after `postbox queue
flush`.

Messages enter a.test's queue through tests/tools/queue_tool (the real
queue API), as submission and sendmail will."""

import email
import email.policy
import os
import subprocess
import time
import unittest

import pbtest

MESSAGE = (b"From: Alice <alice@a.test>\r\n"
           b"To: Bob <bob@b.test>\r\n"
           b"Subject: over the wire\r\n"
           b"Message-ID: <m1@a.test>\r\n"
           b"\r\n"
           b"line one\r\n"
           b".a line that starts with a dot\r\n"
           b"last line\r\n")


def enqueue(server, sender, rcpts, data=MESSAGE):
    """Queues data at server (its data directory) with the queue's own
    code; returns the queue id."""
    tool = os.environ["POSTBOX_QUEUE_TOOL"]
    p = subprocess.run([tool, "enqueue", server.data_dir, sender] + list(rcpts),
                       input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30, check=True)
    return p.stdout.decode().strip()


def wait_for(what, check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = check()
        if r:
            return r
        time.sleep(0.1)
    raise AssertionError("waited %.0f s for %s" % (timeout, what))


class Pair:
    """b.test: a postbox listening on 127.0.0.3 (the MX), with the user
    bob@b.test; a.test: a postbox whose [dns] is a dnsmasq saying so,
    with the user alice@a.test. a is prepared but not started: queue
    first, then a.start()."""

    def __init__(self, b_running=True, dns_extra=None, a_extra="",
                 b_users=("bob@b.test",), b_domains=("b.test",), a_services=()):
        self.a_services = list(a_services)
        self.b_running = b_running
        self.b_users = b_users
        self.b_domains = b_domains
        self.dns_extra = dns_extra or {}
        self.a_extra = a_extra

    def __enter__(self):
        self.b = pbtest.Server(users=self.b_users, domains=self.b_domains,
                               listen={"smtp": ["127.0.0.3:{port}"]},
                               start=self.b_running).__enter__()
        mx = {"b.test": [(10, "mx.b.test")]}
        mx.update(self.dns_extra.get("mx", {}))
        self.dns = pbtest.DNS(mx=mx, hosts={"mx.b.test": ["127.0.0.3"]},
                              null_mx=self.dns_extra.get("null_mx", ())).__enter__()
        extra = ("[dns]\nservers = %s\n[delivery]\nsmtp_port = %d\nbind = 127.0.0.2\n%s"
                 % (self.dns.server, self.b.port, self.a_extra))
        self.a = pbtest.Server(users=("alice@a.test",), domains=("a.test",), start=False,
                               services=self.a_services,
                               extra=extra,
                               env={"POSTBOX_CONNECT_TIMEOUT_MS": "3000"}).__enter__()
        return self

    def __exit__(self, *exc):
        for x in (self.a, self.dns, self.b):
            x.__exit__(*exc)


class RemoteDeliveryTest(unittest.TestCase):

    def test_queued_message_reaches_the_mx_of_its_domain(self):
        """RFC 5321 5.1: the MX host of b.test gets the message, with the
        content intact (dot-stuffing undone at the far side), and the log
        has Postfix's status=sent line with the remote reply."""
        with Pair() as p:
            qid = enqueue(p.a, "alice@a.test", ["bob@b.test"])
            p.a.start()
            msgs = wait_for("delivery at b.test",
                            lambda: p.b.maildir_messages("bob@b.test"))
            raw = msgs[0][1]
            self.assertIn(b"\n.a line that starts with a dot\n", raw)
            self.assertIn(b"Subject: over the wire\n", raw)
            self.assertIn(b"Return-Path: <alice@a.test>\n", raw)
            # Our own final-delivery Return-Path did not travel along.
            self.assertEqual(raw.count(b"Return-Path:"), 1)
            log = wait_for("the log line", lambda: "status=sent" in p.a.log_text()
                           and p.a.log_text())
            self.assertRegex(log, r"delivery %s: to=<bob@b\.test>, relay=mx\.b\.test"
                             r"\[127\.0\.0\.3\]:%d, delay=\d+, attempts=1, "
                             r"dsn=2\.\d\.\d, status=sent \(250 " % (qid, p.b.port))
            listing = wait_for("an empty queue",
                               lambda: (lambda o: o if qid not in o else None)(
                                   p.a.cli("queue", "list").stdout.decode() or "empty"))
            self.assertNotIn(qid, listing)

    def test_unknown_user_bounces_to_the_local_sender(self):
        """RFC 3464: b.test refuses the recipient (550 5.1.1); alice gets a
        multipart/report naming it, with the remote reply, in her
        Maildir at a.test."""
        with Pair() as p:
            enqueue(p.a, "alice@a.test", ["nobody@b.test"])
            p.a.start()
            msgs = wait_for("the bounce", lambda: p.a.maildir_messages("alice@a.test"))
            raw = msgs[0][1]
            self.assertIn(b"Return-Path: <>\n", raw)
            m = email.message_from_bytes(raw, policy=email.policy.default)
            self.assertEqual(m.get_content_type(), "multipart/report")
            self.assertEqual(m.get_param("report-type"), "delivery-status")
            parts = list(m.iter_parts())
            self.assertEqual(parts[1].get_content_type(), "message/delivery-status")
            status = parts[1].as_string()
            self.assertIn("Final-Recipient: rfc822; nobody@b.test", status)
            self.assertIn("Action: failed", status)
            self.assertIn("Status: 5.1.1", status)
            self.assertIn("Remote-MTA: dns; mx.b.test", status)
            self.assertIn("Diagnostic-Code: smtp; 550", status)
            self.assertIn("over the wire", parts[2].as_string())
            # The bounce goes out before the recipient's state is written
            # and logged (a crash costs a duplicate, never a lost bounce).
            wait_for("the log line", lambda: "status=bounced" in p.a.log_text())

    def test_null_mx_bounces_at_once(self):
        """RFC 7505 3: a domain with a null MX accepts no mail: 5.1.10,
        without a connection attempt."""
        with Pair(dns_extra={"null_mx": ["nomail.test"]}) as p:
            enqueue(p.a, "alice@a.test", ["x@nomail.test"])
            p.a.start()
            msgs = wait_for("the bounce", lambda: p.a.maildir_messages("alice@a.test"))
            m = email.message_from_bytes(msgs[0][1], policy=email.policy.default)
            status = list(m.iter_parts())[1].as_string()
            self.assertIn("Status: 5.1.10", status)
            self.assertIn("Final-Recipient: rfc822; x@nomail.test", status)

    def test_far_side_down_then_up_after_queue_flush(self):
        """The MX is down: the recipient is deferred (4.4.1, kept in the
        queue with its error); once it is up, `postbox queue flush`
        delivers at once instead of after the retry interval."""
        with Pair(b_running=False) as p:
            qid = enqueue(p.a, "alice@a.test", ["bob@b.test"])
            p.a.start()
            wait_for("the deferral", lambda: "status=deferred" in p.a.log_text())
            listing = p.a.cli("queue", "list").stdout.decode()
            self.assertIn(qid, listing)
            self.assertIn("bob@b.test", listing)
            self.assertIn("deferred", listing)
            p.b.start()
            p.a.cli("queue", "flush")
            wait_for("delivery at b.test", lambda: p.b.maildir_messages("bob@b.test"))
            wait_for("status=sent", lambda: "status=sent" in p.a.log_text())

    def test_submitted_at_a_read_at_b(self):
        """The mission's path: a client submits at a.test (587, STARTTLS,
        AUTH, RFC 6409), a.test's queue finds b.test's MX and hands the
        message over; it arrives at b.test with a.test's Received: field,
        and a local Bcc copy is in alice's own Maildir."""
        with Pair(a_services=["submission"]) as p:
            p.a.start()
            import smtplib
            import ssl
            ctx = ssl.create_default_context(cafile=pbtest.cert_files()[0])
            ctx.check_hostname = False
            with smtplib.SMTP("127.0.0.1", p.a.ports["submission"], timeout=30) as c:
                c.starttls(context=ctx)
                c.login("alice@a.test", pbtest.PASSWORD)
                c.sendmail("alice@a.test", ["bob@b.test", "alice@a.test"],
                           b"From: alice@a.test\r\nTo: bob@b.test\r\n"
                           b"Subject: submitted\r\n\r\nhello b\r\n")
            msgs = wait_for("delivery at b.test", lambda: p.b.maildir_messages("bob@b.test"))
            raw = msgs[0][1]
            self.assertIn(b"Subject: submitted\n", raw)
            self.assertIn(b"hello b\n", raw)
            self.assertIn(b"with ESMTPSA", raw)       # a.test's Received (RFC 3848)
            self.assertIn(b"Message-ID: <", raw)      # added at submission (RFC 6409 8.3)
            self.assertEqual(len(p.a.maildir_messages("alice@a.test")), 1)

    def test_route_overrides_mx(self):
        """[routes] sends a domain's mail to a fixed next hop, without MX
        lookup: here b.test's mail goes to 127.0.0.3 although the DNS
        names no MX for other.test."""
        with Pair(a_extra="[routes]\nother.test = 127.0.0.3\n",
                  b_users=("carol@other.test",), b_domains=("b.test", "other.test")) as p:
            enqueue(p.a, "alice@a.test", ["carol@other.test"])
            p.a.start()
            wait_for("delivery through the route",
                     lambda: p.b.maildir_messages("carol@other.test"))


if __name__ == "__main__":
    unittest.main()
